package io.agentd.protocol;

import io.agentd.protocol.payload.ExecData;
import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.function.IntFunction;

/**
 * Encodes frames to the reference bytes: [len u32 BE][id u32 BE][flags u8][CBOR {v, t, p}].
 * Definite lengths, shortest integer forms, keys in PROTOCOL.md order, absent core options as null,
 * absent extension fields omitted. Not thread-safe: one encoder per thread (it reuses buffers).
 *
 * <p>A frame that cannot be encoded (payload record not the one its type carries, a required value
 * missing, a value out of range, more than {@link Protocol#MAX_FRAME_LEN}) is refused with
 * IllegalArgumentException: the encoder never writes a frame a decoder would refuse.
 */
public final class FrameEncoder {
    /** Reused for the payload of every non-data frame; only data frames are large. */
    private final CborWriter payload = new CborWriter();

    /** The whole frame, length prefix included. */
    public byte[] encode(Frame frame) {
        if (frame.payload() instanceof ExecData data) {
            PayloadEncoding.checkRecord(frame.type(), data);
            ByteBuffer out = ByteBuffer.allocate(dataFrameSize(frame.type(), data.data().length));
            encodeDataInto(frame.id(), frame.type(), data.data(), 0, data.data().length, out);
            return out.array();
        }
        try {
            writePayload(frame);
            ByteBuffer out = ByteBuffer.allocate(frameSize(frame.type(), payload.size()));
            putWithWrittenPayload(frame, out);
            return out.array();
        } finally {
            payload.release();
        }
    }

    /** Bytes {@link #encodeInto} will write for {@code frame}, length prefix included. */
    public int encodedSize(Frame frame) {
        if (frame.payload() instanceof ExecData data) {
            PayloadEncoding.checkRecord(frame.type(), data);
            return dataFrameSize(frame.type(), data.data().length);
        }
        try {
            writePayload(frame);
            return frameSize(frame.type(), payload.size());
        } finally {
            payload.release();
        }
    }

    /**
     * Encodes {@code frame} once into the buffer {@code roomFor} gives for its size (length prefix
     * included), which must have that much room; returns the bytes written. For a queue that picks
     * its buffer by the frame's size: {@link #encodedSize} then {@link #encodeInto(Frame, ByteBuffer)}
     * encodes the payload twice (a 4 MiB session list, twice on the agent's loop).
     */
    public int encodeInto(Frame frame, IntFunction<ByteBuffer> roomFor) {
        if (frame.payload() instanceof ExecData data) {
            PayloadEncoding.checkRecord(frame.type(), data);
            int len = data.data().length;
            return encodeDataInto(frame.id(), frame.type(), data.data(), 0, len, roomFor.apply(dataFrameSize(frame.type(), len)));
        }
        try {
            writePayload(frame);
            return putWithWrittenPayload(frame, roomFor.apply(frameSize(frame.type(), payload.size())));
        } finally {
            payload.release();
        }
    }

    /**
     * Appends the whole frame to {@code out} (which must have room: see {@link #encodedSize}) and
     * returns the number of bytes written. The hot path for output frames: no intermediate copies.
     *
     * @throws BufferOverflowException when {@code out} lacks room; nothing is written then
     */
    public int encodeInto(Frame frame, ByteBuffer out) {
        if (frame.payload() instanceof ExecData data) {
            PayloadEncoding.checkRecord(frame.type(), data);
            return encodeDataInto(frame.id(), frame.type(), data.data(), 0, data.data().length, out);
        }
        try {
            writePayload(frame);
            return putWithWrittenPayload(frame, out);
        } finally {
            payload.release();
        }
    }

    /**
     * Appends a data frame (stdout, stderr, stdin, fs.data) whose data is {@code data[off, off+len)} without building
     * an {@link io.agentd.protocol.payload.ExecData} (no copy of the bytes). Same bytes as
     * {@link #encodeInto} for the equivalent frame. Returns the number of bytes written.
     *
     * @throws BufferOverflowException when {@code out} lacks room; nothing is written then
     */
    public int encodeDataInto(long id, MessageType type, byte[] data, int off, int len, ByteBuffer out) {
        Objects.checkFromIndexSize(off, len, data.length);
        return encodeDataInto(id, type, ByteBuffer.wrap(data, off, len), out);
    }

    /**
     * Like {@link #encodeDataInto(long, MessageType, byte[], int, int, ByteBuffer)} for the bytes
     * between {@code data}'s position and limit, which stay where they are: the agent's output path,
     * where a pipe was just read into a direct buffer.
     */
    public int encodeDataInto(long id, MessageType type, ByteBuffer data, ByteBuffer out) {
        int len = data.remaining();
        checkDataFrame(id, type);
        if (out.remaining() < dataFrameSize(type, len)) {
            throw new BufferOverflowException();
        }
        int header = encodeDataHeaderInto(id, type, len, out);
        out.put(out.position(), data, data.position(), len);
        out.position(out.position() + len);
        return header + len;
    }

    /**
     * Appends a data frame (stdout, stderr, stdin, fs.data) up to its data: the {@code dataLen} bytes that must follow
     * it on the wire come from elsewhere (the agent splices them from a pipe). Returns the bytes
     * written.
     *
     * @throws BufferOverflowException when {@code out} lacks room for the header; nothing is written then
     */
    public int encodeDataHeaderInto(long id, MessageType type, int dataLen, ByteBuffer out) {
        checkDataFrame(id, type);
        int payloadSize = DataFrameLayout.payloadSize(dataLen);
        int total = frameSize(type, payloadSize);
        int header = total - dataLen;
        putEnvelope(id, type, total, payloadSize, out, header);
        out.put(DataFrameLayout.DATA_KEY_HEAD);
        CborWriter.head(out, CborWriter.MAJOR_BYTES, dataLen);
        return header;
    }

    /** Upper bound of the encoded size of a data frame (stdout, stderr, stdin, fs.data) carrying {@code dataLen} bytes. */
    public static int maxDataFrameSize(int dataLen) {
        return Protocol.LENGTH_BYTES + 5 + 64 + dataLen;
    }

    /** Largest data chunk that still fits one frame under {@link Protocol#MAX_FRAME_LEN}. */
    public static int maxDataChunk() {
        return Protocol.MAX_FRAME_LEN - 5 - 64;
    }

    /** Bytes of payload buffer this encoder keeps between frames (tests). */
    int retainedBytes() {
        return payload.capacity();
    }

    private void writePayload(Frame frame) {
        payload.reset();
        PayloadEncoding.write(frame.type(), frame.payload(), payload);
    }

    /** Puts the frame whose payload {@link #writePayload} just wrote; returns the bytes written. */
    private int putWithWrittenPayload(Frame frame, ByteBuffer out) {
        int size = payload.size();
        int total = frameSize(frame.type(), size);
        putEnvelope(frame.id(), frame.type(), total, size, out);
        out.put(payload.array(), 0, size);
        return total;
    }

    private static int dataFrameSize(MessageType type, int dataLen) {
        return frameSize(type, DataFrameLayout.payloadSize(dataLen));
    }

    /** Whole frame size for a payload of {@code payloadSize} bytes; refuses frames over the limit. */
    private static int frameSize(MessageType type, int payloadSize) {
        long len = 5L + DataFrameLayout.envelopeStart(type).length + CborWriter.headSize(payloadSize) + payloadSize;
        if (len > Protocol.MAX_FRAME_LEN) {
            throw new IllegalArgumentException(type + " frame of " + len + " bytes exceeds the frame limit "
                    + Protocol.MAX_FRAME_LEN);
        }
        return Protocol.LENGTH_BYTES + (int) len;
    }

    /** Everything up to the payload bytes; checks for room for the whole frame first. */
    private static void putEnvelope(long id, MessageType type, int total, int payloadSize, ByteBuffer out) {
        putEnvelope(id, type, total, payloadSize, out, total);
    }

    /** Everything up to the payload bytes; checks for {@code room} bytes first. */
    private static void putEnvelope(long id, MessageType type, int total, int payloadSize, ByteBuffer out, int room) {
        if (out.remaining() < room) {
            throw new BufferOverflowException();
        }
        int len = total - Protocol.LENGTH_BYTES;
        out.put((byte) (len >>> 24)).put((byte) (len >>> 16)).put((byte) (len >>> 8)).put((byte) len);
        out.put((byte) (id >>> 24)).put((byte) (id >>> 16)).put((byte) (id >>> 8)).put((byte) id);
        out.put((byte) type.flags());
        out.put(DataFrameLayout.envelopeStart(type));
        CborWriter.head(out, CborWriter.MAJOR_BYTES, payloadSize);
    }

    private static void checkDataFrame(long id, MessageType type) {
        if (!DataFrameLayout.isDataType(type)) {
            throw new IllegalArgumentException(type + " is not a data frame type");
        }
        checkId(id);
    }

    private static void checkId(long id) {
        if (id < 0 || id > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("frame id out of u32 range: " + id);
        }
    }
}
