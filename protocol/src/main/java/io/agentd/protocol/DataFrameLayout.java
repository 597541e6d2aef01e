package io.agentd.protocol;

import io.agentd.protocol.payload.ExecData;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

/**
 * The exact bytes {@link FrameEncoder} writes for every frame's envelope, and for the data frames
 * (core.exec.stdin/stdout/stderr, core.fs.data) the whole layout:
 * {@code {"v": 7, "t": <type>, "p": h'{"data": h'<bytes>'}'}}, every length in its shortest form.
 *
 * <p>Data frames carry almost every byte on the wire, so both ends recognise this layout with a few
 * comparisons and copy the data out once, instead of running the CBOR parser over it twice (the
 * envelope's {@code p}, then the payload's {@code data}). Any other layout of a valid frame (key
 * order, indefinite lengths, unknown keys, another generation) is left to the general decoder,
 * which accepts it too: this is a shortcut for the canonical form, never a second grammar.
 */
final class DataFrameLayout {
    private DataFrameLayout() {}

    /** {"data": as a one-entry map header and its text key, up to the head of the data bytes. */
    static final byte[] DATA_KEY_HEAD = {(byte) 0xa1, 0x64, 'd', 'a', 't', 'a'};

    private static final MessageType[] DATA_TYPES = {
        MessageType.EXEC_STDOUT, MessageType.EXEC_STDERR, MessageType.EXEC_STDIN, MessageType.FS_DATA};

    /** The CBOR of {v: GENERATION, t: <type>, "p": ...} up to the head of the p byte string, per type. */
    private static final Map<MessageType, byte[]> ENVELOPE_START = new EnumMap<>(MessageType.class);

    static {
        for (MessageType type : MessageType.values()) {
            CborWriter w = new CborWriter();
            w.map(3);
            w.text("v");
            w.u64(Protocol.GENERATION);
            w.text("t");
            w.text(type.wire());
            w.text("p");
            ENVELOPE_START.put(type, Arrays.copyOf(w.array(), w.size()));
        }
    }

    static byte[] envelopeStart(MessageType type) {
        return ENVELOPE_START.get(type);
    }

    static boolean isDataType(MessageType type) {
        for (MessageType data : DATA_TYPES) {
            if (data == type) {
                return true;
            }
        }
        return false;
    }

    /** Size of the payload map {"data": h'...'} for {@code dataLen} bytes of data. */
    static int payloadSize(int dataLen) {
        return DATA_KEY_HEAD.length + CborWriter.headSize(dataLen) + dataLen;
    }

    /**
     * Bytes of a data frame before its data, at most, without the length prefix: id and flags (5),
     * the longest envelope start, and the longest heads of p, the data key and the data. A decoder
     * that holds this much of a frame can tell whether it is a data frame in this layout.
     */
    static final int MAX_HEADER = 5 + maxEnvelopeStart() + 5 + DATA_KEY_HEAD.length + 5;

    /**
     * Decodes {@code a[off, off+len)} (id, flags, body: a frame without its length prefix) when it
     * is a data frame in exactly the encoder's layout with the flags its type requires; returns null
     * for anything else, which the caller then decodes the general way.
     */
    static Frame decodeCanonical(byte[] a, int off, int len, long id, int flags) {
        MessageType type = dataType(a, off, len);
        int data = type == null ? -1 : dataStart(a, off, len, flags, type);
        return data < 0 ? null : new Frame(id, type, new ExecData(Arrays.copyOfRange(a, data, off + len)));
    }

    /**
     * Where the data starts when the frame of {@code len} bytes at {@code a[off]}, whose envelope
     * start is {@code type}'s ({@link #dataType}), is a data frame in the encoder's layout with its
     * type's flags; -1 otherwise. Reads only the header: a decoder may ask once it holds
     * {@link #MAX_HEADER} bytes of the frame (or all of it), before the data is in.
     */
    static int dataStart(byte[] a, int off, int len, int flags, MessageType type) {
        int end = off + len;
        if (flags != type.flags()) {
            return -1;
        }
        int payload = bytesRunningToEnd(a, off + 5 + ENVELOPE_START.get(type).length, end);
        if (payload < 0 || !startsWith(a, payload, end, DATA_KEY_HEAD)) {
            return -1;
        }
        return bytesRunningToEnd(a, payload + DATA_KEY_HEAD.length, end);
    }

    /** The data frame type whose envelope start the frame at {@code a[off]} begins with, or null. */
    static MessageType dataType(byte[] a, int off, int len) {
        for (MessageType type : DATA_TYPES) {
            if (startsWith(a, off + 5, off + len, ENVELOPE_START.get(type))) {
                return type;
            }
        }
        return null;
    }

    private static int maxEnvelopeStart() {
        int max = 0;
        for (MessageType type : DATA_TYPES) {
            max = Math.max(max, ENVELOPE_START.get(type).length);
        }
        return max;
    }

    private static boolean startsWith(byte[] a, int at, int end, byte[] prefix) {
        return end - at >= prefix.length && Arrays.equals(a, at, at + prefix.length, prefix, 0, prefix.length);
    }

    /**
     * Where the content of the definite byte string whose head starts at {@code a[at]} begins, when
     * that head is in its shortest form and the string ends exactly at {@code end}; -1 otherwise.
     */
    private static int bytesRunningToEnd(byte[] a, int at, int end) {
        if (at >= end || (a[at] & 0xe0) != CborWriter.MAJOR_BYTES << 5) {
            return -1;
        }
        int info = a[at] & 0x1f;
        int argBytes = info < 24 ? 0 : info == 24 ? 1 : info == 25 ? 2 : info == 26 ? 4 : -1;
        if (argBytes < 0 || end - at - 1 < argBytes) {
            return -1;
        }
        long length = info < 24 ? info : 0;
        for (int i = 1; i <= argBytes; i++) {
            length = (length << 8) | (a[at + i] & 0xff);
        }
        int content = at + 1 + argBytes;
        boolean shortest = CborWriter.headSize(length) == 1 + argBytes;
        return shortest && end - content == length ? content : -1;
    }
}
