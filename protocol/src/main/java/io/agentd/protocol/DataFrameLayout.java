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
        int body = off + 5;
        for (MessageType type : DATA_TYPES) {
            byte[] envelope = ENVELOPE_START.get(type);
            if (!startsWith(a, body, end, envelope)) {
                continue;
            }
            if (flags != type.flags()) {
                return null;
            }
            int payload = bytesRunningToEnd(a, body + envelope.length, end);
            if (payload < 0 || !startsWith(a, payload, end, DATA_KEY_HEAD)) {
                return null;
            }
            int data = bytesRunningToEnd(a, payload + DATA_KEY_HEAD.length, end);
            return data < 0 ? null : new Frame(id, type, new ExecData(Arrays.copyOfRange(a, data, end)));
        }
        return null;
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
