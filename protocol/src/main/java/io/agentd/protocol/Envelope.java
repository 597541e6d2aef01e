package io.agentd.protocol;

import com.fasterxml.jackson.core.JsonParser.NumberType;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * The CBOR body of a frame, {v, t, p}, read tolerantly (any key order, unknown keys skipped,
 * indefinite lengths). Anything that is not such a map is malformed_message.
 *
 * @param v the generation the sender speaks (a value beyond long range is held as Long.MAX_VALUE)
 * @param t the message type string as sent, not yet looked up (a refusal carries it as
 *          {@link #offendingType} gives it)
 * @param p the payload's own CBOR bytes
 */
record Envelope(long v, String t, byte[] p) {

    /** Reads the body {@code a[off, off+len)} of the frame {@code id}. */
    static Envelope read(byte[] a, int off, int len, long id) throws ProtocolException {
        Long v = null;
        String t = null;
        byte[] p = null;
        // v, t and p as bits: a repeat of one is refused; an unknown key is skipped however often it comes.
        int seen = 0;
        OffsetCborParser parser;
        try {
            parser = OffsetCborParser.FACTORY.parser(a, off, len);
        } catch (IOException e) {
            throw malformed(id, null, "frame body is not valid CBOR: " + JacksonRefusal.jacksonWords(e));
        }
        try (parser) {
            JsonToken token = parser.nextToken();
            if (token != JsonToken.START_OBJECT) {
                throw malformed(id, null, token == null ? "frame has no body" : "frame body is not a map");
            }
            while ((token = parser.nextToken()) != JsonToken.END_OBJECT) {
                String key = parser.currentName();
                if (token == null || key == null) {
                    throw malformed(id, t, "frame body ends inside the envelope map");
                }
                if (CborText.isBadText(a, parser.tokenStart())) {
                    throw malformed(id, t, "an envelope key is not valid UTF-8");
                }
                int bit = switch (key) {
                    case "v" -> 1;
                    case "t" -> 2;
                    case "p" -> 4;
                    default -> 0;
                };
                if ((seen & bit) != 0) {
                    throw malformed(id, t, "duplicate key " + HostText.quote(key, HostText.QUOTE_MAX) + " in the envelope");
                }
                seen |= bit;
                token = parser.nextToken();
                if (token == null) {
                    throw malformed(id, t, "frame body ends inside the envelope map");
                }
                switch (key) {
                    case "v" -> v = generation(parser, a, token, id, t);
                    case "t" -> {
                        if (token != JsonToken.VALUE_STRING) {
                            throw malformed(id, t, "t must be text");
                        }
                        String text = parser.getText();
                        if (CborText.isBadText(a, parser.tokenStart())) {
                            throw malformed(id, t, "t is not valid UTF-8");
                        }
                        t = text;
                    }
                    case "p" -> {
                        if (token != JsonToken.VALUE_EMBEDDED_OBJECT) {
                            throw malformed(id, t, "p must be a byte string");
                        }
                        p = parser.getBinaryValue();
                    }
                    default -> parser.skipChildren();
                }
            }
            if (parser.nextToken() != null) {
                throw malformed(id, t, "bytes after the envelope map");
            }
        } catch (IOException e) {
            String own = JacksonRefusal.ownWords(parser, a, e);
            throw malformed(id, t, own != null ? "frame body: " + own
                    : "frame body is not valid CBOR: " + JacksonRefusal.jacksonWords(e));
        } catch (RuntimeException e) {
            // Jackson should only throw IOExceptions on bad input; this keeps a parser bug from
            // killing the connection. The fuzz test asserts it never fires.
            throw new ProtocolException(ErrorKind.MALFORMED_MESSAGE, id, offendingType(t),
                    "frame body unreadable (" + e + ")", e);
        }
        if (v == null || t == null || p == null) {
            throw malformed(id, t, "envelope lacks " + (v == null ? "v" : t == null ? "t" : "p"));
        }
        return new Envelope(v, t, p);
    }

    private static long generation(OffsetCborParser parser, byte[] a, JsonToken token, long id, String t)
            throws ProtocolException, IOException {
        if (token != JsonToken.VALUE_NUMBER_INT || CborReader.notPlainInteger(parser, a) != null) {
            throw malformed(id, t, "v must be an unsigned integer");
        }
        if (parser.getNumberType() == NumberType.BIG_INTEGER) {
            if (parser.getBigIntegerValue().signum() < 0) {
                throw malformed(id, t, "v must be an unsigned integer");
            }
            return Long.MAX_VALUE; // a generation from the far future: newer is accepted
        }
        long v = parser.getLongValue();
        if (v < 0) {
            throw malformed(id, t, "v must be an unsigned integer");
        }
        return v;
    }

    /**
     * The type string {@code t} as a refusal carries it (the agent echoes it in core.error's
     * offending_type and its log): as sent, but no longer than a quote, so an unknown type cannot
     * bloat the reply. Only the type is cut: a message quotes {@code t} itself with
     * {@link HostText#quote}, whose "(N chars)" is then the length the host sent.
     */
    static String offendingType(String t) {
        return t == null || t.length() <= HostText.QUOTE_MAX ? t : t.substring(0, HostText.QUOTE_MAX) + "...";
    }

    private static ProtocolException malformed(long id, String t, String detail) {
        return new ProtocolException(ErrorKind.MALFORMED_MESSAGE, id, offendingType(t), detail);
    }
}
