package io.agentd.protocol;

import java.nio.ByteBuffer;

/**
 * Encodes frames to the reference bytes: [len u32 BE][id u32 BE][flags u8][CBOR {v, t, p}].
 * Definite lengths, shortest integer forms, keys in PROTOCOL.md order, absent core options as null,
 * absent extension fields omitted. Not thread-safe: one encoder per thread (it reuses buffers).
 */
public final class FrameEncoder {

    /** The whole frame, length prefix included. */
    public byte[] encode(Frame frame) {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * Appends the whole frame to {@code out} (which must have room: see {@link #encodedSize}) and
     * returns the number of bytes written. The hot path for output frames: no intermediate copies.
     */
    public int encodeInto(Frame frame, ByteBuffer out) {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * Appends a stdout/stderr/stdin frame whose data is {@code data[off, off+len)} without building
     * an {@link io.agentd.protocol.payload.ExecData} (no copy of the bytes). Same bytes as
     * {@link #encodeInto} for the equivalent frame. Returns the number of bytes written.
     */
    public int encodeDataInto(long id, MessageType type, byte[] data, int off, int len, ByteBuffer out) {
        throw new UnsupportedOperationException("TODO");
    }

    /** Upper bound of the encoded size of a stdout/stderr/stdin frame carrying {@code dataLen} bytes. */
    public static int maxDataFrameSize(int dataLen) {
        return Protocol.LENGTH_BYTES + 5 + 64 + dataLen;
    }

    /** Largest data chunk that still fits one frame under {@link Protocol#MAX_FRAME_LEN}. */
    public static int maxDataChunk() {
        return Protocol.MAX_FRAME_LEN - 5 - 64;
    }
}
