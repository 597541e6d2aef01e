package io.agentd.client.relay;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * Which occurrences of one kind of event that a peer can repeat at will get a log line: at most
 * {@code linesPerInterval} in an interval that starts with the first of them; the rest are counted,
 * and the count is a line of its own once that interval is over ({@link #reportIfDue}, which the
 * relay's loop calls by {@link #reportDueAt}), never attached to a later line, which may be much
 * later and about another client. Selector thread only.
 */
final class RateLimitedLog {
    private final Logger log;
    private final String what;
    private final boolean warn;
    private final long intervalNanos;
    private final int linesPerInterval;
    private final LongSupplier nanoClock;
    private boolean intervalOpen;
    private long intervalStart;
    private int linesInInterval;
    private long leftOut;

    /**
     * {@code what} names the lines left out in the count ("relay: N more {what} in the last 5 s not
     * logged"), at WARN when {@code warn}, else INFO.
     */
    RateLimitedLog(Logger log, String what, boolean warn, long intervalMillis, int linesPerInterval) {
        this(log, what, warn, intervalMillis, linesPerInterval, System::nanoTime);
    }

    RateLimitedLog(Logger log, String what, boolean warn, long intervalMillis, int linesPerInterval,
            LongSupplier nanoClock) {
        if (linesPerInterval < 1) {
            throw new IllegalArgumentException("linesPerInterval must be positive: " + linesPerInterval);
        }
        this.log = log;
        this.what = what;
        this.warn = warn;
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMillis);
        this.linesPerInterval = linesPerInterval;
        this.nanoClock = nanoClock;
    }

    /** True when this occurrence gets a line (the caller writes it); false counts it for the report. */
    boolean admit() {
        long now = nanoClock.getAsLong();
        if (intervalOpen && now - intervalStart >= intervalNanos) {
            report();
            intervalOpen = false;
        }
        if (!intervalOpen) {
            intervalOpen = true;
            intervalStart = now;
            linesInInterval = 0;
        }
        if (linesInInterval < linesPerInterval) {
            linesInInterval++;
            return true;
        }
        leftOut++;
        return false;
    }

    /** When (nanoTime) a count is due, or {@link Long#MAX_VALUE} with none left out. */
    long reportDueAt() {
        return leftOut == 0 ? Long.MAX_VALUE : intervalStart + intervalNanos;
    }

    /** Writes the count of the lines left out once their interval is over. */
    void reportIfDue() {
        if (leftOut > 0 && nanoClock.getAsLong() - intervalStart >= intervalNanos) {
            report();
            intervalOpen = false;
        }
    }

    /** Writes the count of the lines left out, if any, at once (the relay ends). */
    void reportNow() {
        report();
    }

    private void report() {
        if (leftOut == 0) {
            return;
        }
        long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(Math.min(intervalNanos,
                nanoClock.getAsLong() - intervalStart)));
        if (warn) {
            log.warn("relay: {} more {} in the last {} s not logged", leftOut, what, seconds);
        } else {
            log.info("relay: {} more {} in the last {} s not logged", leftOut, what, seconds);
        }
        leftOut = 0;
    }
}
