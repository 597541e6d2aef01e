package io.agentd.protocol;

import java.nio.ByteBuffer;

/**
 * Incremental decoder: feed bytes as they arrive (any split, many frames per chunk), then call
 * {@link #next()} until it returns null.
 *
 * <p>A refused frame is consumed whole and reported as a {@link ProtocolException}; the next call
 * goes on with the following frame. A length prefix above {@link Protocol#MAX_FRAME_LEN} or below
 * {@link Protocol#MIN_FRAME_LEN} is refused as soon as the 4 prefix bytes are in, before any body
 * byte is buffered; the stream is then out of sync, so the decoder discards everything it holds
 * ({@link ErrorKind#losesStream()}) and starts afresh with the next bytes fed.
 * Memory held never exceeds one frame of the maximum length. Not thread-safe.
 */
public final class FrameDecoder {

    public FrameDecoder() {
        this(Protocol.MAX_FRAME_LEN);
    }

    /** A decoder with a smaller frame limit (tests, constrained peers). */
    public FrameDecoder(int maxFrameLen) {
        throw new UnsupportedOperationException("TODO");
    }

    /** Takes the bytes from {@code src}'s position to its limit (the buffer's position advances). */
    public void feed(ByteBuffer src) {
        throw new UnsupportedOperationException("TODO");
    }

    public void feed(byte[] src, int off, int len) {
        feed(ByteBuffer.wrap(src, off, len));
    }

    /** The next complete frame, or null when more bytes are needed. */
    public Frame next() throws ProtocolException {
        throw new UnsupportedOperationException("TODO");
    }

    /** Bytes held that do not yet form a whole frame. */
    public int buffered() {
        throw new UnsupportedOperationException("TODO");
    }

    /** Drops every byte held (e.g. after the host disconnects). */
    public void reset() {
        throw new UnsupportedOperationException("TODO");
    }
}
