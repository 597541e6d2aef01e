package io.agentd.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.io.IOContext;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.fasterxml.jackson.dataformat.cbor.CBORParser;

/**
 * Jackson's CBORParser that also tells where in its input the token just read starts, the offset
 * the raw-byte checks (UTF-8, plain integers) read from. Jackson's own answer,
 * currentTokenLocation(), builds a JsonLocation per call: per key of a frame that may hold a key for
 * every three bytes, and only the JIT's escape analysis, when it has compiled the decoder, drops it.
 */
final class OffsetCborParser extends CBORParser {
    /**
     * The parsers of frames from the peer. Field names are neither interned into the JVM's string
     * table nor kept in a symbol table shared across frames: nothing a hostile peer can grow or
     * flood; a key costs one small String.
     */
    static final Factory FACTORY = new Factory();

    private OffsetCborParser(Factory factory, IOContext context, byte[] input, int start, int end) {
        super(context, factory.parserFeatures(), factory.formatParserFeatures(), null,
                factory.symbols(), null, input, start, end, false);
    }

    /** The index in the input array of the first byte of the token just read. */
    int tokenStart() {
        return (int) _tokenInputTotal;
    }

    /**
     * The index in the input array of the first byte of the token {@code nextToken()} reads next.
     * Only true where the token just read was read whole, as a map key is (a text value is not: its
     * bytes are passed only when the next token is asked for).
     */
    int nextTokenStart() {
        return (int) (_currInputProcessed + _inputPtr);
    }

    /** The CBORFactory whose byte-array parsers are {@link OffsetCborParser}s. */
    static final class Factory extends CBORFactory {
        private Factory() {
            super(CBORFactory.builder()
                    .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
                    .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES));
        }

        /** A parser of {@code input} (the whole array). */
        OffsetCborParser parser(byte[] input) throws java.io.IOException {
            return parser(input, 0, input.length);
        }

        /**
         * A parser of {@code len} bytes of {@code input} from {@code off}, once {@link CborShape} found
         * nothing the protocol refuses there (else a JsonParseException saying what).
         */
        OffsetCborParser parser(byte[] input, int off, int len) throws java.io.IOException {
            String problem = CborShape.problem(input, off, len);
            if (problem != null) {
                throw new com.fasterxml.jackson.core.JsonParseException(null, problem);
            }
            return (OffsetCborParser) createParser(input, off, len);
        }

        @Override
        protected CBORParser _createParser(byte[] input, int off, int len, IOContext context) {
            return new OffsetCborParser(this, context, input, off, off + len);
        }

        private int parserFeatures() {
            return _parserFeatures;
        }

        private int formatParserFeatures() {
            return _formatParserFeatures;
        }

        private com.fasterxml.jackson.core.sym.ByteQuadsCanonicalizer symbols() {
            return _byteSymbolCanonicalizer.makeChildOrPlaceholder(_factoryFeatures);
        }
    }
}
