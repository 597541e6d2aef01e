package io.agentd.protocol;

import io.agentd.protocol.payload.ExecData;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

/**
 * The exact bytes {@link FrameEncoder} writes for every frame's envelope, and for the data frames
 * (core.exec.stdin/stdout/stderr) the whole layout:
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
        MessageType.EXEC_STDOUT, MessageType.EXEC_STDERR, MessageType.EXEC_STDIN};

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
        return type == MessageType.EXEC_STDIN || type == MessageType.EXEC_STDOUT || type == MessageType.EXEC_STDERR;
    }

    /** Size of the payload map {"data": h'...'} for {@code dataLen} bytes of data. */
    static int payloadSize(int dataLen) {
        return DATA_KEY_HEAD.length + CborWriter.headSize(dataLen) + dataLen;
    }

    /**
     * Decodes {@code a[off, off+len)} (id, flags, body: a frame without its length prefix) when it
     * is a data frame in exactly the encoder's layout with the flags its type requires; returns null
     * for anything else, which the caller then decodes the general way.
     */
    static Frame decodeCanonical(byte[] a, int off, int len, long id, int flags) {
        int end = off + len;
        int at = off + 5;
        for (MessageType type : DATA_TYPES) {
            byte[] start = ENVELOPE_START.get(type);
            if (end - at < start.length || !Arrays.equals(a, at, at + start.length, start, 0, start.length)) {
                continue;
            }
            if (flags != type.flags()) {
                return null;
            }
            at += start.length;
            int payloadLen = shortestBytesHead(a, at, end);
            if (payloadLen < 0) {
                return null;
            }
            at += CborWriter.headSize(payloadLen);
            if (end - at != payloadLen || payloadLen < DATA_KEY_HEAD.length
                    || !Arrays.equals(a, at, at + DATA_KEY_HEAD.length, DATA_KEY_HEAD, 0, DATA_KEY_HEAD.length)) {
                return null;
            }
            at += DATA_KEY_HEAD.length;
            int dataLen = shortestBytesHead(a, at, end);
            if (dataLen < 0) {
                return null;
            }
            at += CborWriter.headSize(dataLen);
            if (end - at != dataLen) {
                return null;
            }
            return new Frame(id, type, new ExecData(Arrays.copyOfRange(a, at, end)));
        }
        return null;
    }

    /**
     * The length of the definite byte string whose head, in its shortest form, starts at
     * {@code a[at]} and ends before {@code end}; -1 for anything else.
     */
    private static int shortestBytesHead(byte[] a, int at, int end) {
        if (at >= end || (a[at] & 0xe0) != CborWriter.MAJOR_BYTES << 5) {
            return -1;
        }
        int info = a[at] & 0x1f;
        int argBytes = info < 24 ? 0 : info == 24 ? 1 : info == 25 ? 2 : info == 26 ? 4 : -1;
        if (argBytes < 0 || end - at - 1 < argBytes) {
            return -1;
        }
        long value = info < 24 ? info : 0;
        for (int i = 1; i <= argBytes; i++) {
            value = (value << 8) | (a[at + i] & 0xff);
        }
        return value <= Integer.MAX_VALUE && CborWriter.headSize(value) == 1 + argBytes ? (int) value : -1;
    }
}
