package io.agentd.agent.transport;

import io.agentd.agent.loop.Loop;
import java.util.function.LongSupplier;

/**
 * Warns when the host takes no output for a while although some waits for it, and says so again
 * when it takes output again; after Netty's {@code IdleStateHandler}, but only while output waits.
 * The check runs a warning period after output begins to wait, then when the host will have taken
 * nothing for a period (or a period later), and stops when nothing waits (the next queued frame
 * starts it again).
 */
final class StallWatch {

    /** What the watch looks at. */
    interface Subject {
        /** True while a connected host has output queued for it. */
        boolean outputWaits();

        long queuedBytes();

        /** False while session output is paused for backpressure (said in the warning). */
        boolean outputAllowed();

        /** Whose output it is, for the log line (the connection). */
        default String who() {
            return "an unnamed link";
        }
    }

    private final Loop loop;
    private final long warnMillis;
    private final Subject subject;
    private final LongSupplier nanoClock;
    /** Where its lines go, at the rate every link's share. */
    private final HostEventLog events;
    private Loop.Timer check;
    /** When the host last took output, or when output began to wait for it. */
    private long lastProgressNanos;
    private boolean reported;
    /** Output waits for the host (from the first queued frame until the queue is empty). */
    private boolean waiting;

    /** @param warnMillis 0: never warn */
    StallWatch(Loop loop, long warnMillis, Subject subject, LongSupplier nanoClock, HostEventLog events) {
        this.loop = loop;
        this.events = events;
        this.warnMillis = warnMillis;
        this.subject = subject;
        this.nanoClock = nanoClock;
    }

    /** Output waits for the host: starts the periodic check unless it runs. */
    void outputWaiting() {
        if (!waiting) {
            // Idle time counts from here, even when a check scheduled during the last wait is still
            // pending: a check that fires late must not count the time the queue was empty.
            waiting = true;
            lastProgressNanos = nanoClock.getAsLong();
        }
        if (check == null && warnMillis > 0) {
            check = loop.schedule(warnMillis, this::check);
        }
    }

    /** The queue is empty: nothing waits for the host. */
    void drained() {
        waiting = false;
    }

    /** The host took some output. */
    void progressed() {
        long now = nanoClock.getAsLong();
        if (reported) {
            reported = false;
            events.outputTakenAgain(subject.who(), (now - lastProgressNanos) / 1_000_000);
        }
        lastProgressNanos = now;
    }

    /** The host went away: no watch until output waits for the next one. */
    void stop() {
        if (check != null) {
            check.cancel();
            check = null;
        }
        reported = false;
        waiting = false;
    }

    /** True once a stall was warned about and the host has not taken output since. */
    boolean reported() {
        return reported;
    }

    private void check() {
        check = null;
        if (!subject.outputWaits()) {
            return;
        }
        long idleMillis = (nanoClock.getAsLong() - lastProgressNanos) / 1_000_000;
        if (idleMillis >= warnMillis && !reported) {
            reported = true;
            events.outputStalled(subject.who(), idleMillis, subject.queuedBytes(), subject.outputAllowed());
        }
        // The next check when a stall from the last output taken would be a period long: a fixed
        // period from the first wait missed stalls between one and two periods, and reported
        // others up to a period late.
        long untilStall = warnMillis - idleMillis;
        check = loop.schedule(reported || untilStall <= 0 ? warnMillis : untilStall, this::check);
    }
}
