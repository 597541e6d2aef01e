package io.agentd.agent.session;

import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * Whether a bulk writer's pipe is being read too early. A child streaming output makes its pipe
 * readable at each of its write(2)s (head(1) writes 8 KiB at a time); read at once, every such write
 * becomes a frame of a few KiB, a wake-up of the agent and one of the host's reader, and output runs
 * at a fraction of what a frame of the whole pipe would carry. So when a pipe that has carried
 * {@link #BULK_AFTER} bytes turns readable again within {@link #STREAMING_GAP_NANOS} of its last read
 * with less than a splice's worth waiting, the loop waits {@link #WAIT_NANOS} first, and the writes
 * made meanwhile go out in one frame. The wait blocks the whole loop, so it is short and taken at
 * most once per {@link #WAIT_NANOS} however many pipes ask: no other fd waits longer than that. An
 * interactive or slow writer (a PTY, a pipe quiet for a millisecond, a small output) never waits.
 * Loop thread only.
 */
final class BulkCoalescing {
    /** A pipe that has carried this much is a bulk writer's. */
    static final long BULK_AFTER = 4L * 1024 * 1024;
    /** Readable again this soon after the last read: the writer is streaming. */
    static final long STREAMING_GAP_NANOS = 1_000_000;
    static final long WAIT_NANOS = 50_000;

    private final LongSupplier clock;
    private final Runnable pause;
    private boolean waited;
    private long lastWaitNanos;

    BulkCoalescing() {
        this(System::nanoTime, () -> LockSupport.parkNanos(WAIT_NANOS));
    }

    /** A clock and a pause of the test's (the real pause parks the loop thread). */
    BulkCoalescing(LongSupplier clock, Runnable pause) {
        this.clock = clock;
        this.pause = pause;
    }

    /**
     * Waits before a read when the pipe is a streaming bulk writer's with only a few bytes waiting;
     * returns true when it waited (the caller then asks the pipe again how much is there).
     *
     * @param bytesMoved    what the pipe has carried so far
     * @param lastReadNanos the clock at the pipe's last read or splice
     * @param waiting       bytes in the pipe now
     */
    boolean waitIfEarly(long bytesMoved, long lastReadNanos, int waiting) {
        long now = clock.getAsLong();
        boolean early = bytesMoved >= BULK_AFTER && waiting > 0 && waiting < OutputPump.SPLICE_MIN
                && now - lastReadNanos < STREAMING_GAP_NANOS;
        if (!early || (waited && now - lastWaitNanos < WAIT_NANOS)) {
            return false;
        }
        pause.run();
        waited = true;
        lastWaitNanos = clock.getAsLong();
        return true;
    }

    long now() {
        return clock.getAsLong();
    }
}
