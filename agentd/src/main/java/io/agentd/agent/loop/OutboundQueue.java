package io.agentd.agent.loop;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.function.IntConsumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything waiting for the port, in send order: encoded frames, and the data of output frames that
 * is still in the child's pipe.
 *
 * <p>Frames are encoded straight into direct segments of {@value #SEGMENT_BYTES} bytes, one after the
 * other, and each write(2) takes as much of the oldest segment as the fd accepts, so many small
 * frames go out in one write. A written segment goes back to {@link DirectBufferPool#SEGMENTS}, shared
 * by every queue: steady output allocates nothing, and an idle queue holds no segment.
 *
 * <p>Bulk output need not pass through the agent at all: {@link #addSplicedData} queues a frame's
 * header and leaves its data in the pipe, and when the drain reaches the end of that header,
 * splice(2) moves the pages from the pipe to the port. Until then the bytes are "announced": only
 * the queue may take them out of the pipe. If the port cannot take spliced data (splice answers
 * EINVAL), the queue reads the data out of the pipe and writes it like any other bytes, and stops
 * accepting spliced frames.
 *
 * <p>The queue itself does not refuse anything: the caller bounds it by looking at
 * {@link #queuedBytes()}. Loop thread only.
 */
public final class OutboundQueue {
    private static final Logger log = LoggerFactory.getLogger(OutboundQueue.class);
    static final int SEGMENT_BYTES = 256 * 1024;
    /**
     * The most data a frame may carry and still be encoded into a pooled segment: a larger frame gets
     * a direct buffer of its own, freed only by a garbage collection (bulk senders stay at or below).
     */
    public static final int DATA_PER_SEGMENT = SEGMENT_BYTES - FrameEncoder.maxDataFrameSize(0);

    private final FrameEncoder encoder = new FrameEncoder();
    /** Segments not yet written, oldest first; frames are appended to the last one. */
    private final ArrayDeque<Segment> queued = new ArrayDeque<>();
    private long queuedBytes;
    /** Bytes that have left the queue since it was made, written or dropped: see {@link #dequeuedBytes}. */
    private long dequeuedBytes;
    private boolean spliceWorks;

    /**
     * Direct memory with two cursors: frames are appended at {@code fill}, written from
     * {@code drain}. A spliced frame's header sits in the segment like any frame; its data is a
     * {@link Span} that is written when the drain reaches the end of that header.
     */
    private static final class Segment {
        final ByteBuffer fill;
        final ByteBuffer drain;
        /** Spliced frames' data, in order of their offsets. */
        final ArrayDeque<Span> spans = new ArrayDeque<>();
        /** Where each frame starts in the segment, in order (the first at 0): a write cut short is found to be mid-frame. */
        int[] frameStarts = new int[16];
        int frames;

        void frameStartsHere() {
            if (frames == frameStarts.length) {
                frameStarts = Arrays.copyOf(frameStarts, frames * 2);
            }
            frameStarts[frames++] = fill.position();
        }

        /** The first frame start at or after {@code at}, or the end of what the segment holds. */
        int frameStartFrom(int at) {
            for (int i = 0; i < frames; i++) {
                if (frameStarts[i] >= at) {
                    return frameStarts[i];
                }
            }
            return fill.position();
        }

        Segment(ByteBuffer fill) {
            this.fill = fill;
            drain = fill.duplicate();
        }
    }

    /**
     * The data of one spliced frame, still in {@code pipeFd}, due at offset {@code at} of its segment;
     * {@code taken} once read out of the pipe.
     */
    private static final class Span {
        final int pipeFd;
        final int at;
        int remaining;
        /** Told the bytes left in the pipe when the queue is done with it (0: all of them left it). */
        final IntConsumer onReleased;
        ByteBuffer taken;

        Span(int pipeFd, int at, int length, IntConsumer onReleased) {
            this.pipeFd = pipeFd;
            this.at = at;
            this.remaining = length;
            this.onReleased = onReleased;
        }
    }

    public void add(Frame frame) {
        queuedBytes += encoder.encodeInto(frame, size -> roomFor(size).fill);
    }

    /**
     * Queues {@code frame} ahead of everything queued, in a segment of its own: a port's greeting
     * (core.ready) to a host that comes back goes before the frames queued while it was away, which
     * it would otherwise read before it knows the agent. The queue is at a frame's start then (a
     * hang-up drops a frame it cut: {@link #dropPartlyWrittenFrame}).
     */
    public void addFirst(Frame frame) {
        Segment head = new Segment(DirectBufferPool.SEGMENTS.take());
        head.frameStartsHere();
        queuedBytes += encoder.encodeInto(frame, head.fill);
        queued.addFirst(head);
    }

    /** Queues a stdout/stderr frame carrying the bytes between {@code data}'s position and limit. */
    public void addData(long id, MessageType type, ByteBuffer data) {
        int size = FrameEncoder.maxDataFrameSize(data.remaining());
        queuedBytes += encoder.encodeDataInto(id, type, data, roomFor(size).fill);
    }

    /**
     * Drops the unwritten rest of the oldest frame when a write left it partly written: the host it
     * was going to is gone, and a host that takes its place (a port's host side reconnecting) must
     * get whole frames from its first byte. Spliced data not yet written stays in its pipe (its
     * owner is told, as by {@link #clear}). The frames behind it stay queued.
     *
     * @return the bytes dropped (0 when the queue is at a frame's start)
     */
    public long dropPartlyWrittenFrame() {
        Segment segment = queued.peek();
        if (segment == null) {
            return 0;
        }
        int drained = segment.drain.position();
        int next = segment.frameStartFrom(drained);
        Span span = segment.spans.peek();
        boolean headerWrittenDataNot = span != null && span.at == drained;
        if (next == drained && !headerWrittenDataNot) {
            return 0;
        }
        long dropped = next - drained;
        segment.drain.position(next);
        if (span != null && span.at >= drained && span.at <= next) {
            // the cut frame's own data (its header ends where its data goes): the bytes stay in the pipe for their owner
            segment.spans.poll();
            if (span.taken == null) {
                span.onReleased.accept(span.remaining);
            }
            dropped += span.remaining;
        }
        queuedBytes -= dropped;
        dequeuedBytes += dropped;
        if (segment.drain.position() == segment.fill.position() && segment.spans.isEmpty()) {
            recycle(queued.poll());
        }
        return dropped;
    }

    /**
     * False when the port is not to be spliced to, or refused it: callers then read their pipes and
     * use {@link #addData}.
     */
    public boolean acceptsSplicedData() {
        return spliceWorks;
    }

    /** Whether the fd this queue is written to may take spliced data (it starts without). */
    public void allowSplicedData(boolean allowed) {
        spliceWorks = allowed;
    }

    /**
     * Queues a stdout/stderr frame whose {@code length} data bytes are the next bytes in the pipe
     * {@code pipeFd}, which must hold at least that many already. Nobody else may read the pipe until
     * {@code onReleased} has run. It runs once, with the number of announced bytes still in the pipe:
     * 0 when they have left it (written to the port, or read out by {@link #takeOutOfPipe}), the
     * unwritten rest when {@link #clear} drops the frame and leaves them in the pipe for the caller
     * to read again.
     */
    public void addSplicedData(long id, MessageType type, int pipeFd, int length, IntConsumer onReleased) {
        Segment segment = roomFor(FrameEncoder.maxDataFrameSize(0));
        queuedBytes += encoder.encodeDataHeaderInto(id, type, length, segment.fill);
        segment.spans.add(new Span(pipeFd, segment.fill.position(), length, onReleased));
        queuedBytes += length;
    }

    /**
     * Reads the announced bytes of every queued frame from {@code pipeFd} into memory, so the caller
     * may read the pipe itself, or close it. Their frames keep their place in the queue.
     */
    public void takeOutOfPipe(int pipeFd) {
        takeOutOfPipes(span -> span.pipeFd == pipeFd);
    }

    /**
     * The segment to append a frame of up to {@code size} bytes to, the newest one or a new one, with
     * the frame's start noted: the caller encodes the frame there at once.
     */
    private Segment roomFor(int size) {
        Segment tail = queued.peekLast();
        if (tail == null || tail.fill.remaining() < size) {
            tail = new Segment(size <= SEGMENT_BYTES ? DirectBufferPool.SEGMENTS.take() : ByteBuffer.allocateDirect(size));
            queued.add(tail);
        }
        tail.frameStartsHere();
        return tail;
    }

    /**
     * Writes to a non-blocking fd until it would block or the queue is empty.
     *
     * @return true when everything queued has been written
     */
    public boolean writeTo(int fd) throws OsException {
        Segment segment;
        while ((segment = queued.peek()) != null) {
            Span span = segment.spans.peek();
            ByteBuffer drain = segment.drain.limit(span != null ? span.at : segment.fill.position());
            if (drain.hasRemaining()) {
                int n = Os.write(fd, drain);
                if (n == Os.WOULD_BLOCK) {
                    return false;
                }
                queuedBytes -= n;
                dequeuedBytes += n;
            } else if (span != null) {
                if (!writeSpan(span, fd)) {
                    return false;
                }
                segment.spans.poll();
            } else {
                recycle(queued.poll());
            }
        }
        return true;
    }

    /** Returns true when the span's bytes are all written. */
    private boolean writeSpan(Span span, int fd) throws OsException {
        while (span.remaining > 0) {
            int n;
            if (span.taken != null) {
                n = Os.write(fd, span.taken);
            } else {
                try {
                    n = Os.spliceFromPipe(span.pipeFd, fd, span.remaining);
                } catch (OsException e) {
                    if (e.errno() != LibC.EINVAL) {
                        throw e;
                    }
                    log.info("the port does not take spliced data (EINVAL); output is copied from now on");
                    spliceWorks = false;
                    takeOutOfPipes(any -> true);
                    continue;
                }
                if (n == 0) {
                    take(span); // cannot happen while the bytes were announced; take() says what it found
                    continue;
                }
            }
            if (n == Os.WOULD_BLOCK) {
                return false;
            }
            span.remaining -= n;
            queuedBytes -= n;
            dequeuedBytes += n;
        }
        if (span.taken == null) {
            span.onReleased.accept(0);
        }
        return true;
    }

    /** Reads out of their pipes the announced bytes of the queued spans {@code which} picks. */
    private void takeOutOfPipes(Predicate<Span> which) {
        for (Segment segment : queued) {
            for (Span span : segment.spans) {
                if (span.taken == null && which.test(span)) {
                    take(span);
                }
            }
        }
    }

    /** Reads a span's remaining bytes out of its pipe, where they are waiting already. */
    private void take(Span span) {
        ByteBuffer bytes = ByteBuffer.allocate(span.remaining);
        try {
            while (bytes.hasRemaining()) {
                int n = Os.read(span.pipeFd, bytes);
                if (n <= 0) {
                    break;
                }
            }
        } catch (OsException e) {
            log.error("reading announced output from fd {} failed: {}", span.pipeFd, e.getMessage());
        }
        if (bytes.hasRemaining()) {
            // The frame's length is on its way already; zeros keep the stream in step.
            log.error("pipe fd {} held {} fewer bytes than announced; sent as zeros", span.pipeFd, bytes.remaining());
        }
        span.taken = bytes.clear();
        span.onReleased.accept(0);
    }

    /**
     * A written or dropped segment's memory goes back to the pool, for this queue or another (the
     * pool keeps only buffers of its size: a large frame's own buffer is left to the collector).
     */
    private void recycle(Segment segment) {
        segment.spans.clear();
        DirectBufferPool.SEGMENTS.give(segment.fill);
    }

    /** Segments holding queued frames (tests: small frames share segments, spliced or not). */
    int segmentsInUse() {
        return queued.size();
    }

    /** Bytes queued and not yet written, announced pipe bytes included. */
    public long queuedBytes() {
        return queuedBytes;
    }

    /**
     * Bytes that have left the queue since it was made (written, or dropped by {@link #clear} or
     * {@link #dropPartlyWrittenFrame}); it only grows. The queue is written in order, so once it has
     * reached {@code dequeuedBytes() + queuedBytes()} as they were at some moment, everything
     * queued before that moment is gone, whatever was queued after it; but for a frame put ahead
     * with {@link #addFirst}, which is only the greeting of a host that has just come, before any
     * such mark of its can have been taken.
     */
    public long dequeuedBytes() {
        return dequeuedBytes;
    }

    public boolean isEmpty() {
        return queuedBytes == 0;
    }

    /** Drops everything queued (the host it was for is gone); announced bytes stay in their pipes. */
    public void clear() {
        Segment segment;
        while ((segment = queued.poll()) != null) {
            for (Span span : segment.spans) {
                if (span.taken == null) {
                    span.onReleased.accept(span.remaining);
                }
            }
            recycle(segment);
        }
        dequeuedBytes += queuedBytes;
        queuedBytes = 0;
    }
}
