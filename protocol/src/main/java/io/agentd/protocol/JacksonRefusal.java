package io.agentd.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import java.io.IOException;

/**
 * The codec's own words for the refusals of Jackson's that a host can cause with well-formed CBOR
 * the protocol does not use, where Jackson's would name its internals ("Unsupported major type (7)
 * for CBOR Objects, not (yet?) supported, only Strings", "StreamReadConstraints.getMaxNestingDepth()"):
 * a map key that is neither text nor an integer, and nesting past Jackson's depth limit. Anything
 * else malformed keeps Jackson's message.
 */
final class JacksonRefusal {
    private JacksonRefusal() {}

    /**
     * What {@code parser}, reading {@code input}, refused with {@code e}, in the codec's words; null
     * when it is none of the refusals above. Called right after the refusal: Jackson has marked the
     * start of the item it refused (as {@link OffsetCborParser#tokenStart}) before reading it.
     */
    static String ownWords(OffsetCborParser parser, byte[] input, IOException e) {
        if (e instanceof StreamConstraintsException && parser.getParsingContext().getNestingDepth()
                > parser.streamReadConstraints().getMaxNestingDepth()) {
            return "arrays and maps nested deeper than " + parser.streamReadConstraints().getMaxNestingDepth();
        }
        String key = readingKey(parser) ? keyType(input, parser.tokenStart()) : null;
        return key == null ? null : "a map key is " + key + ", not text or an integer";
    }

    /** Jackson's own message for {@code e}, without the location it appends. */
    static String jacksonWords(IOException e) {
        return e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
    }

    /** Whether the parser failed where a map key was due (after the map's start or a value). */
    private static boolean readingKey(OffsetCborParser parser) {
        return parser.getParsingContext().inObject() && parser.currentToken() != JsonToken.FIELD_NAME;
    }

    /**
     * The CBOR type of the key at {@code input[at]} when it is one Jackson does not take as a key:
     * an array, a map or a simple value (a bool, null, undefined, a float). Null for anything else:
     * text and integers it takes, byte strings and tags {@link CborShape} refused before, and a
     * break or reserved byte is malformed, for Jackson's own message.
     */
    private static String keyType(byte[] input, int at) {
        if (at < 0 || at >= input.length) {
            return null;
        }
        int info = input[at] & 0x1f;
        return switch (CborHead.major(input[at])) {
            case CborHead.MAJOR_ARRAY -> "an array";
            case CborHead.MAJOR_MAP -> "a map";
            case CborHead.MAJOR_SIMPLE -> switch (info) {
                case 20, 21 -> "a bool";
                case 22 -> "null";
                case 23 -> "undefined";
                case 25, 26, 27 -> "a float";
                case 28, 29, 30, 31 -> null;
                default -> "a simple value";
            };
            default -> null;
        };
    }
}
