package io.agentd.agent.transport;

import io.agentd.agent.loop.Loop;
import java.util.function.LongSupplier;

/**
 * The deadline of a frame a socket host began and stopped sending (--frame-timeout). A frame cut
 * short holds what a whole one would: its connection's place among --max-connections and, for a
 * large frame, its room in the {@link LargeFrameBudget}, which other hosts' large frames wait for.
 * So a host that sends no byte of its frame for the timeout is dropped. A host idle between frames
 * holds neither and is left alone (hosts keep connections open). Time while the agent itself does
 * not read the link (a large frame waiting for the budget, a yielded slice, backpressure) is not
 * the host's: its time starts over when reading does; but backpressure while a large frame holds
 * its budget share is the host's ({@link Subject#reading}). A large frame, which holds its whole
 * length of the budget from its first byte, must also move: its time starts over only with every
 * {@link #LARGE_FRAME_PROGRESS_BYTES} more of it, so a host sending a byte now and then cannot keep
 * its share for ever. Not for the virtio port, whose guest clock can jump across a VM pause and
 * whose one host cannot reconnect. Loop thread only.
 */
final class PartialFrameDeadline {
    /** What the deadline looks at, and what it calls when it passes. */
    interface Subject {
        /** Part of a frame is held: the decoder is inside one, or an incomplete length prefix waits. */
        boolean holdsPartialFrame();

        /** The host's time runs now: nothing on the agent's side holds its input back (see the class comment). */
        boolean reading();

        /** A large frame (one that holds its length of the budget) is partly in. */
        boolean midLargeFrame();

        /** Bytes of large frames the link has taken so far, all of them together (never goes back). */
        long largeFrameBytes();

        /** Large frames the link has begun so far. */
        long largeFramesBegun();

        /** The host sent no byte of its frame for {@code idleMillis} (at least the timeout). */
        void expired(long idleMillis);
    }

    /**
     * How much more of a large frame starts the host's time over: 64 KiB per --frame-timeout (6.4
     * KiB/s at the default 10 s) is far below any host that means to send the frame, and a 4 MiB
     * frame sent that slowly still ends within 11 minutes.
     */
    static final long LARGE_FRAME_PROGRESS_BYTES = 64 * 1024;

    private final Loop loop;
    private final long timeoutMillis;
    private final Subject subject;
    private final LongSupplier nanoClock;
    /** The pending check; null while no frame is partial (the next read arms it). */
    private Loop.Timer check;
    /** The host's last byte (of a large frame: its last {@link #LARGE_FRAME_PROGRESS_BYTES}), or when the link began reading again. */
    private long lastProgressNanos;
    /** {@link Subject#largeFrameBytes} and {@link Subject#largeFramesBegun} when the host's time last started over. */
    private long largeFrameBytesAtProgress;
    private long largeFramesBegunAtProgress;

    /** @param timeoutMillis 0: no deadline */
    PartialFrameDeadline(Loop loop, long timeoutMillis, Subject subject, LongSupplier nanoClock) {
        this.loop = loop;
        this.timeoutMillis = timeoutMillis;
        this.subject = subject;
        this.nanoClock = nanoClock;
    }

    /**
     * Bytes came, or the link reads again: the host's time starts over. Arms the check when a frame
     * is partial; one pending check serves every later read (it looks at the time of the last one),
     * so a busy link schedules nothing per read.
     */
    void progressed() {
        if (timeoutMillis == 0 || !subject.holdsPartialFrame()) {
            // Between frames the host's time does not run, and the read that next leaves part of a
            // frame held comes here and starts it over: no clock read for a read of whole frames.
            return;
        }
        // A large frame's time starts with its first bytes, then again with each 64 KiB more.
        if (!subject.midLargeFrame() || subject.largeFramesBegun() != largeFramesBegunAtProgress
                || subject.largeFrameBytes() - largeFrameBytesAtProgress >= LARGE_FRAME_PROGRESS_BYTES) {
            startOver(nanoClock.getAsLong());
        }
        if (check == null) {
            check = loop.schedule(timeoutMillis, this::check);
        }
    }

    /** The host's time starts over at {@code now}, and a large frame's progress is counted from here. */
    private void startOver(long now) {
        lastProgressNanos = now;
        largeFrameBytesAtProgress = subject.largeFrameBytes();
        largeFramesBegunAtProgress = subject.largeFramesBegun();
    }

    /** The link is gone or dropping: no deadline. */
    void stop() {
        if (check != null) {
            check.cancel();
            check = null;
        }
    }

    /** True while a check is pending (tests). */
    boolean armed() {
        return check != null;
    }

    private void check() {
        check = null;
        if (!subject.holdsPartialFrame()) {
            return; // between frames: the next read arms it again
        }
        long now = nanoClock.getAsLong();
        if (subject.largeFramesBegun() != largeFramesBegunAtProgress) {
            // A large frame began with no read of the host's since (its bytes were held while it
            // waited for the budget): its time starts now, as it would have with a read.
            startOver(now);
        }
        if (!subject.reading()) {
            startOver(now); // the agent is not reading: not the host's time
            check = loop.schedule(timeoutMillis, this::check);
            return;
        }
        long idleMillis = (now - lastProgressNanos) / 1_000_000;
        if (idleMillis >= timeoutMillis) {
            subject.expired(idleMillis);
            return;
        }
        check = loop.schedule(timeoutMillis - idleMillis, this::check);
    }
}
