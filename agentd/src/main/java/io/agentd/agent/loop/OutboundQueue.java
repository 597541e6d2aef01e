package io.agentd.agent.loop;

import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Encoded frames waiting for the port, in send order. Frames are encoded straight into direct
 * segments of {@value #SEGMENT_BYTES} bytes, one after the other, and each write(2) takes as much of
 * the oldest segment as the fd accepts: many small frames go out in one write, and an output chunk
 * is copied once (from the read buffer into its segment) on its way from the pipe to the port.
 * Written segments are kept for reuse, so steady output allocates nothing.
 *
 * <p>The queue itself does not refuse anything: the caller bounds it by looking at
 * {@link #queuedBytes()}. Loop thread only.
 */
public final class OutboundQueue {
    static final int SEGMENT_BYTES = 256 * 1024;
    /** Free segments kept for reuse; a burst beyond this is left to the garbage collector. */
    private static final int POOLED_SEGMENTS = 8;

    private final FrameEncoder encoder = new FrameEncoder();
    /** Segments with bytes not yet written, oldest first; the last one is appended to. */
    private final ArrayDeque<Segment> queued = new ArrayDeque<>();
    private final ArrayDeque<Segment> free = new ArrayDeque<>();
    private long queuedBytes;

    /** Direct memory with two cursors: frames are appended at {@code fill}, written from {@code drain}. */
    private static final class Segment {
        final ByteBuffer fill;
        final ByteBuffer drain;

        Segment(int capacity) {
            fill = ByteBuffer.allocateDirect(capacity);
            drain = fill.duplicate();
        }

        void reset() {
            fill.clear();
            drain.clear();
        }

        boolean pooled() {
            return fill.capacity() == SEGMENT_BYTES;
        }
    }

    public void add(Frame frame) {
        int size = encoder.encodedSize(frame);
        queuedBytes += encoder.encodeInto(frame, roomFor(size));
    }

    /** Queues a stdout/stderr frame carrying the bytes between {@code data}'s position and limit. */
    public void addData(long id, MessageType type, ByteBuffer data) {
        int size = FrameEncoder.maxDataFrameSize(data.remaining());
        queuedBytes += encoder.encodeDataInto(id, type, data, roomFor(size));
    }

    /** The buffer to append a frame of up to {@code size} bytes to: the newest segment, or a new one. */
    private ByteBuffer roomFor(int size) {
        Segment tail = queued.peekLast();
        if (tail == null || tail.fill.remaining() < size) {
            tail = size <= SEGMENT_BYTES && !free.isEmpty() ? free.poll() : new Segment(Math.max(size, SEGMENT_BYTES));
            queued.add(tail);
        }
        return tail.fill;
    }

    /**
     * Writes to a non-blocking fd until it would block or the queue is empty.
     *
     * @return true when everything queued has been written
     */
    public boolean writeTo(int fd) throws OsException {
        Segment head;
        while ((head = queued.peek()) != null) {
            ByteBuffer drain = head.drain.limit(head.fill.position());
            if (drain.hasRemaining()) {
                int n = Os.write(fd, drain);
                if (n == Os.WOULD_BLOCK) {
                    return false;
                }
                queuedBytes -= n;
            }
            if (!drain.hasRemaining()) {
                if (queued.size() == 1 && head.fill.hasRemaining()) {
                    head.reset(); // the only segment, written out: append to it again from the start
                    return true;
                }
                recycle(queued.poll());
            }
        }
        return true;
    }

    private void recycle(Segment segment) {
        if (segment.pooled() && free.size() < POOLED_SEGMENTS) {
            segment.reset();
            free.add(segment);
        }
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
        Segment segment;
        while ((segment = queued.poll()) != null) {
            recycle(segment);
        }
        queuedBytes = 0;
    }
}
