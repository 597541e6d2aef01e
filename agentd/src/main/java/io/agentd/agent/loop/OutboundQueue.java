package io.agentd.agent.loop;

import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Encoded frames waiting for the port, in send order. Frames are encoded when queued; writes copy
 * them into one direct staging buffer so a single write(2) carries many small frames. The queue
 * itself does not refuse anything: the caller bounds it by looking at {@link #queuedBytes()}.
 * Loop thread only.
 */
public final class OutboundQueue {
    private static final int STAGING_BYTES = 256 * 1024;

    private final FrameEncoder encoder = new FrameEncoder();
    private final ArrayDeque<ByteBuffer> frames = new ArrayDeque<>();
    /** Bytes already taken off {@link #frames}, between position and limit; empty when drained. */
    private final ByteBuffer staging = ByteBuffer.allocateDirect(STAGING_BYTES).flip();
    private long queuedBytes;

    public void add(Frame frame) {
        enqueue(ByteBuffer.wrap(encoder.encode(frame)));
    }

    /** Queues a stdout/stderr frame carrying {@code data[off, off+len)}. */
    public void addData(long id, MessageType type, byte[] data, int off, int len) {
        ByteBuffer out = ByteBuffer.allocate(FrameEncoder.maxDataFrameSize(len));
        encoder.encodeDataInto(id, type, data, off, len, out);
        enqueue(out.flip());
    }

    private void enqueue(ByteBuffer encoded) {
        frames.add(encoded);
        queuedBytes += encoded.remaining();
    }

    /**
     * Writes to a non-blocking fd until it would block or the queue is empty.
     *
     * @return true when everything queued has been written
     */
    public boolean writeTo(int fd) throws OsException {
        while (true) {
            if (!staging.hasRemaining() && !refill()) {
                return true;
            }
            int n = Os.write(fd, staging);
            if (n == Os.WOULD_BLOCK) {
                return false;
            }
            queuedBytes -= n;
        }
    }

    private boolean refill() {
        staging.clear();
        while (staging.hasRemaining() && !frames.isEmpty()) {
            ByteBuffer head = frames.peek();
            int take = Math.min(head.remaining(), staging.remaining());
            staging.put(staging.position(), head, head.position(), take);
            staging.position(staging.position() + take);
            head.position(head.position() + take);
            if (!head.hasRemaining()) {
                frames.poll();
            }
        }
        staging.flip();
        return staging.hasRemaining();
    }

    /** Bytes queued and not yet written. */
    public long queuedBytes() {
        return queuedBytes;
    }

    public boolean isEmpty() {
        return queuedBytes == 0;
    }

    /** Drops everything queued (the host it was for is gone). */
    public void clear() {
        frames.clear();
        staging.clear().flip();
        queuedBytes = 0;
    }
}
