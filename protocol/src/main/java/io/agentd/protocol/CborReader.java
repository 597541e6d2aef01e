package io.agentd.protocol;

import com.fasterxml.jackson.core.JsonParser.NumberType;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The decoding side of the codec: Jackson's streaming CBORParser over one payload, with typed reads
 * that refuse a wrong-typed, out-of-range or duplicated value with invalid_payload naming the field.
 * Jackson does the tolerant part (indefinite lengths, skipping unknown values of any shape); the
 * checks it is lax about (plain integers, UTF-8) are made here on the raw bytes.
 */
final class CborReader {
    private final byte[] input;
    private final OffsetCborParser parser;
    private final long id;
    private final MessageType type;
    /** The maps being read, outermost first; entries past {@link #depth} are kept for reuse. */
    private final List<OpenMap> openMaps = new ArrayList<>();
    private int depth;

    /** {@code parser} reads {@code input} (its token offsets are used to tell plain integers apart). */
    CborReader(byte[] input, OffsetCborParser parser, long id, MessageType type) {
        this.input = input;
        this.parser = parser;
        this.id = id;
        this.type = type;
    }

    static ProtocolException invalid(long id, MessageType type, String detail) {
        return new ProtocolException(ErrorKind.INVALID_PAYLOAD, id, type.wire(), type.wire() + ": " + detail);
    }

    ProtocolException invalid(String detail) {
        return invalid(id, type, detail);
    }

    <T> T required(String field, T value) throws ProtocolException {
        if (value == null) {
            throw invalid("missing field " + field);
        }
        return value;
    }

    /** The next token; the end of the payload here is refused. */
    JsonToken next(String field) throws ProtocolException {
        JsonToken token;
        try {
            // Direct calls on the per-token and per-key paths: a method reference would be an object
            // per call (until the JIT removes it), and a payload may hold a key every few bytes.
            token = parser.nextToken();
        } catch (IOException e) {
            throw unreadable(field, e);
        }
        if (token == null) {
            throw invalid(field + ": payload ends early");
        }
        return token;
    }

    /** A refusal of the request for passing one of {@link ExecLimits}; {@code detail} names the limit. */
    ProtocolException limitExceeded(String detail) {
        return new ProtocolException(ErrorKind.LIMIT_EXCEEDED, id, type.wire(), detail);
    }

    /**
     * The byte length of the text token just read, from its CBOR heads: Jackson decodes a text only
     * when asked for it, so a huge one can be measured and refused without being built.
     */
    long textBytes(String field) throws ProtocolException {
        long bytes = CborText.textLength(input, parser.tokenStart());
        if (bytes < 0) {
            throw invalid(field + ": text runs past the payload");
        }
        return bytes;
    }

    /**
     * Reads the head of a text field of at most {@code maxBytes} and returns its byte length, or -1
     * for null where {@code nullable}; a longer text is refused (limit_exceeded, quoting its start)
     * before any String is built. {@link #textValue} then gives the text.
     */
    long boundedTextHead(String field, boolean nullable, int maxBytes) throws ProtocolException {
        JsonToken token = next(field);
        if (nullable && token == JsonToken.VALUE_NULL) {
            return -1;
        }
        if (token != JsonToken.VALUE_STRING) {
            throw expected(field, nullable ? "text or null" : "text", token);
        }
        long bytes = textBytes(field);
        if (bytes > maxBytes) {
            throw limitExceeded(field + ": " + bytes + " bytes, more than the limit of " + maxBytes
                    + " (starts " + HostText.quote(textPrefix(HostText.QUOTE_MAX), HostText.QUOTE_MAX) + ")");
        }
        return bytes;
    }

    /** At most {@code maxBytes} from the start of the text token just read, without decoding it whole. */
    String textPrefix(int maxBytes) {
        return CborText.textPrefix(input, parser.tokenStart(), maxBytes);
    }

    /**
     * The next token, the value of the key just read, which should be an array of at most {@code max}
     * entries: an array (tagged or not) whose head declares more is refused from that head before
     * Jackson reads it, so before any entry is built. Read first because Jackson refuses a count
     * past 2^31-1 in an 8-byte head (where every count from 2^32 is) itself, in its own words:
     * checked after the token, the refusal of a count past the limit depended on how far past it
     * was. An indefinite array is refused by {@link #checkCount}; anything else is the caller's to
     * refuse.
     *
     * @param kind {@link ErrorKind#INVALID_PAYLOAD}, or {@link ErrorKind#LIMIT_EXCEEDED} for a
     *             request's own limits (ExecLimits)
     */
    JsonToken nextBoundedArray(String field, int max, ErrorKind kind) throws ProtocolException {
        int at = CborHead.afterTags(input, parser.nextTokenStart());
        if (at >= 0 && CborHead.major(input[at]) == CborHead.MAJOR_ARRAY) {
            // -1 for an indefinite length; 2^63 and above come as Long.MAX_VALUE, and are shown as sent.
            if (CborHead.definiteEntries(input, at) > max) {
                throw refusal(kind, field + ": " + Long.toUnsignedString(CborHead.argument(input, at))
                        + " entries, more than the limit of " + max);
            }
        }
        return next(field);
    }

    /**
     * Refuses an array or map at its entry number {@code entries} (from 1) when that is past
     * {@code max}; {@code kind} as for {@link #nextBoundedArray}.
     */
    void checkCount(String field, int entries, int max, ErrorKind kind) throws ProtocolException {
        if (entries > max) {
            throw refusal(kind, field + ": more than the limit of " + max + " entries");
        }
    }

    private ProtocolException refusal(ErrorKind kind, String detail) {
        return switch (kind) {
            case INVALID_PAYLOAD -> invalid(detail);
            case LIMIT_EXCEEDED -> limitExceeded(detail);
            default -> throw new IllegalArgumentException("not a refusal of a list's length: " + kind);
        };
    }

    /** Opens the map that {@code token} starts. */
    void beginMap(String field, JsonToken token) throws ProtocolException {
        if (token != JsonToken.START_OBJECT) {
            throw invalid(field + " must be a map, got " + describe(token));
        }
        if (depth == openMaps.size()) {
            openMaps.add(new OpenMap());
        }
        openMaps.get(depth++).clear();
    }

    /** Opens the payload's top-level map. */
    void beginPayloadMap() throws ProtocolException {
        beginMap("payload", next("payload"));
    }

    /**
     * The next key of the innermost open map, or null at its end (which closes it). A key the
     * decoder read before in this map is refused; an unknown key, whose value {@link #skipValue}
     * passes over, may repeat: nothing reads it, so no repeat can win.
     */
    String nextKey(String where) throws ProtocolException {
        OpenMap map = openMaps.get(depth - 1);
        map.settle();
        JsonToken token = next(where);
        if (token == JsonToken.END_OBJECT) {
            depth--;
            return null;
        }
        String key;
        try {
            key = parser.currentName();
        } catch (IOException e) {
            throw unreadable(where, e);
        }
        if (CborText.isBadText(input, parser.tokenStart())) {
            throw invalid(where + ": a key is not valid UTF-8");
        }
        if (map.isKnown(key)) {
            throw invalid(where + ": duplicate key " + HostText.quote(key, HostText.QUOTE_MAX));
        }
        map.pending = key;
        return key;
    }

    /** Skips the value of the unknown top-level key {@code key}, whatever its shape. */
    void skipValue(String key) throws ProtocolException {
        skipValue(null, key);
    }

    /**
     * Skips the value of the unknown key {@code key} of the map at {@code at}, whatever its shape.
     * The field's name is built only for a refusal: a payload may hold a key for every few bytes.
     */
    void skipValue(String at, String key) throws ProtocolException {
        openMaps.get(depth - 1).pending = null;
        try {
            if (parser.nextToken() == null) {
                throw invalid(skippedField(at, key) + ": payload ends early");
            }
            parser.skipChildren();
        } catch (IOException e) {
            throw unreadable(skippedField(at, key), e);
        }
    }

    private static String skippedField(String at, String key) {
        return HostText.quote(at == null ? key : at + "." + key, HostText.QUOTE_MAX);
    }

    /** core.shutdown: null, or a map (fields a newer host may add) that is skipped. */
    void nullOrMap() throws ProtocolException {
        JsonToken token = next("payload");
        if (token == JsonToken.START_OBJECT) {
            call("payload", parser::skipChildren);
        } else if (token != JsonToken.VALUE_NULL) {
            throw invalid("payload must be null, got " + describe(token));
        }
    }

    /** After the payload item: anything more in p is refused. */
    void expectEnd() throws ProtocolException {
        if (call("payload", parser::nextToken) != null) {
            throw invalid("p holds more than one CBOR item");
        }
    }

    String text(String field) throws ProtocolException {
        JsonToken token = next(field);
        if (token != JsonToken.VALUE_STRING) {
            throw expected(field, "text", token);
        }
        return textValue(field);
    }

    String textOrNull(String field) throws ProtocolException {
        JsonToken token = next(field);
        if (token == JsonToken.VALUE_NULL) {
            return null;
        }
        if (token != JsonToken.VALUE_STRING) {
            throw expected(field, "text or null", token);
        }
        return textValue(field);
    }

    /**
     * An array of at most {@code maxEntries} texts; null stands for the empty list. Bounded because
     * a frame of one-character texts would otherwise cost some 25 times its size in String objects.
     */
    List<String> textList(String field, int maxEntries) throws ProtocolException {
        JsonToken token = nextBoundedArray(field, maxEntries, ErrorKind.INVALID_PAYLOAD);
        if (token == JsonToken.VALUE_NULL) {
            return List.of();
        }
        if (token != JsonToken.START_ARRAY) {
            throw expected(field, "an array of text", token);
        }
        List<String> items = new ArrayList<>();
        while ((token = next(field)) != JsonToken.END_ARRAY) {
            checkCount(field, items.size() + 1, maxEntries, ErrorKind.INVALID_PAYLOAD);
            if (token != JsonToken.VALUE_STRING) {
                throw expected(field + "[" + items.size() + "]", "text", token);
            }
            items.add(textValue(field + "[" + items.size() + "]"));
        }
        return items;
    }

    /** The text of the string token just read, refused unless its bytes are valid UTF-8. */
    String textValue(String field) throws ProtocolException {
        String text = call(field, parser::getText);
        if (CborText.isBadText(input, parser.tokenStart())) {
            throw invalid(field + ": text is not valid UTF-8");
        }
        return text;
    }

    byte[] bytes(String field) throws ProtocolException {
        JsonToken token = next(field);
        if (token != JsonToken.VALUE_EMBEDDED_OBJECT) {
            throw expected(field, "bytes", token);
        }
        return call(field, parser::getBinaryValue);
    }

    Boolean boolOrNull(String field) throws ProtocolException {
        JsonToken token = next(field);
        return switch (token) {
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            case VALUE_NULL -> null;
            default -> throw expected(field, "bool or null", token);
        };
    }

    int i32(String field) throws ProtocolException {
        return (int) integer(field, next(field), Integer.MIN_VALUE, Integer.MAX_VALUE, "i32");
    }

    Integer i32OrNull(String field) throws ProtocolException {
        JsonToken token = next(field);
        return token == JsonToken.VALUE_NULL ? null
                : (int) integer(field, token, Integer.MIN_VALUE, Integer.MAX_VALUE, "i32");
    }

    long u32(String field) throws ProtocolException {
        return integer(field, next(field), 0, 0xFFFF_FFFFL, "u32");
    }

    Long u32OrNull(String field) throws ProtocolException {
        JsonToken token = next(field);
        return token == JsonToken.VALUE_NULL ? null : integer(field, token, 0, 0xFFFF_FFFFL, "u32");
    }

    Long i64OrNull(String field) throws ProtocolException {
        JsonToken token = next(field);
        return token == JsonToken.VALUE_NULL ? null : integer(field, token, Long.MIN_VALUE, Long.MAX_VALUE, "i64");
    }

    int u16(String field) throws ProtocolException {
        return (int) integer(field, next(field), 0, 0xFFFF, "u16");
    }

    Integer u16OrNull(String field) throws ProtocolException {
        JsonToken token = next(field);
        return token == JsonToken.VALUE_NULL ? null : (int) integer(field, token, 0, 0xFFFF, "u16");
    }

    /** A u64, held in a long as its unsigned value (2^64-1 is -1L). */
    long u64(String field) throws ProtocolException {
        return u64(field, next(field));
    }

    Long u64OrNull(String field) throws ProtocolException {
        JsonToken token = next(field);
        return token == JsonToken.VALUE_NULL ? null : u64(field, token);
    }

    /** Reads {@code field}'s u64 whose first token is {@code token}. */
    private long u64(String field, JsonToken token) throws ProtocolException {
        requireInteger(field, token, "u64");
        if (call(field, parser::getNumberType) == NumberType.BIG_INTEGER) {
            BigInteger value = call(field, parser::getBigIntegerValue);
            if (value.signum() < 0 || value.bitLength() > Long.SIZE) {
                throw outOfRange(field, value.toString(), "u64");
            }
            return value.longValue();
        }
        long value = call(field, parser::getLongValue);
        if (value < 0) {
            throw outOfRange(field, Long.toString(value), "u64");
        }
        return value;
    }

    private long integer(String field, JsonToken token, long min, long max, String typeName)
            throws ProtocolException {
        requireInteger(field, token, typeName);
        if (call(field, parser::getNumberType) == NumberType.BIG_INTEGER) {
            throw outOfRange(field, call(field, parser::getBigIntegerValue).toString(), typeName);
        }
        long value = call(field, parser::getLongValue);
        if (value < min || value > max) {
            throw outOfRange(field, Long.toString(value), typeName);
        }
        return value;
    }

    private void requireInteger(String field, JsonToken token, String typeName) throws ProtocolException {
        if (token != JsonToken.VALUE_NUMBER_INT) {
            throw expected(field, typeName, token);
        }
        String notPlain = notPlainInteger(parser, input);
        if (notPlain != null) {
            throw invalid(field + ": expected " + typeName + ", got " + notPlain);
        }
    }

    /**
     * Null when the integer token just read is a plain CBOR integer (major type 0 or 1), else what it
     * is. Jackson also reports simple values (0xf0..) as integers, and decodes bignum tags (2, 3)
     * with the wrong sign in 2.18; the reference encoding uses neither, so both are refused rather
     * than misread. {@code input} is the array the parser reads (token offsets index into it).
     */
    static String notPlainInteger(OffsetCborParser parser, byte[] input) {
        long at = parser.tokenStart();
        int major = at >= 0 && at < input.length ? CborHead.major(input[(int) at]) : -1;
        return switch (major) {
            case 0, 1 -> null;
            case 6 -> "a tagged value";
            case 7 -> "a simple value";
            default -> "an unreadable value";
        };
    }

    ProtocolException expected(String field, String what, JsonToken got) {
        return invalid(field + ": expected " + what + ", got " + describe(got));
    }

    private ProtocolException outOfRange(String field, String value, String typeName) {
        return invalid(field + ": " + value + " is out of range for " + typeName);
    }

    private static String describe(JsonToken token) {
        return switch (token) {
            case VALUE_STRING -> "text";
            case VALUE_EMBEDDED_OBJECT -> "bytes";
            case VALUE_NUMBER_INT -> "an integer";
            case VALUE_NUMBER_FLOAT -> "a float";
            case VALUE_TRUE, VALUE_FALSE -> "a bool";
            case VALUE_NULL -> "null";
            case START_ARRAY -> "an array";
            case START_OBJECT -> "a map";
            default -> token.toString();
        };
    }

    /**
     * The keys of one map the decoder has read so far. Only known keys are kept: a decoder knows a
     * handful per map, so the list stays short (a scan beats hashing) however many unknown keys the
     * map holds, and no key the peer makes up is ever kept.
     */
    private static final class OpenMap {
        private String[] known = new String[8];
        private int count;
        /** The key just returned: known once its value was read by anything but skipValue. */
        private String pending;

        void clear() {
            count = 0;
            pending = null;
        }

        /** Records the key just returned as known unless its value was skipped. */
        void settle() {
            if (pending != null) {
                if (count == known.length) {
                    known = Arrays.copyOf(known, count * 2);
                }
                known[count++] = pending;
                pending = null;
            }
        }

        boolean isKnown(String key) {
            for (int i = 0; i < count; i++) {
                if (known[i].equals(key)) {
                    return true;
                }
            }
            return false;
        }
    }

    @FunctionalInterface
    interface ParserCall<T> {
        T call() throws IOException;
    }

    private <T> T call(String field, ParserCall<T> c) throws ProtocolException {
        try {
            return c.call();
        } catch (IOException e) {
            throw unreadable(field, e);
        }
    }

    /** The refusal of {@code field} for what Jackson could not read, in the codec's words where it has them. */
    private ProtocolException unreadable(String field, IOException e) {
        String own = JacksonRefusal.ownWords(parser, input, e);
        return invalid(field + ": " + (own != null ? own : JacksonRefusal.jacksonWords(e)));
    }
}
