package io.agentd.client.relay;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every kind of the relay's log lines that a peer can repeat at will, each a {@link RateLimitedLog}
 * made here by the part of the relay whose lines it limits: the loop's timer looks at them all, so
 * that each count of lines left out comes out when its interval is over even if nothing else
 * happens by then, and at the relay's end. Selector thread only.
 */
final class LimitedLogs {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    /** One line of a kind per this interval, the rest counted in a line when it is over ({@link RateLimitedLog}). */
    static final long INTERVAL_MILLIS = 5_000;
    /** The most of a refusal's or an agent's error text a log line shows (escaped: HostText). */
    static final int LOGGED_TEXT_MAX = 256;
    /** Lines a second of clients connecting, and of clients leaving (each kind limited on its own). */
    static final int CONNECTION_LINES_PER_SECOND = 20;

    private final List<RateLimitedLog> all = new ArrayList<>();

    /** One line per {@link #INTERVAL_MILLIS}, at WARN when {@code warn}, else INFO. */
    RateLimitedLog limited(String what, boolean warn) {
        return limited(what, warn, INTERVAL_MILLIS, 1);
    }

    RateLimitedLog limited(String what, boolean warn, long intervalMillis, int linesPerInterval) {
        RateLimitedLog limited = new RateLimitedLog(log, what, warn, intervalMillis, linesPerInterval);
        all.add(limited);
        return limited;
    }

    /**
     * {@code selectMillis} (0: no timeout), cut to when the first count of lines left out is due, so
     * that it comes out when its interval is over even if nothing else happens by then.
     */
    long untilReport(long selectMillis) {
        long due = Long.MAX_VALUE;
        for (RateLimitedLog limited : all) {
            due = Math.min(due, limited.reportDueAt());
        }
        if (due == Long.MAX_VALUE) {
            return selectMillis;
        }
        long millis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(due - System.nanoTime()) + 1);
        return selectMillis == 0 ? millis : Math.min(selectMillis, millis);
    }

    /** The counts of lines left out whose interval is over, each a line of its own. */
    void reportDue() {
        for (RateLimitedLog limited : all) {
            limited.reportIfDue();
        }
    }

    /** Every count of lines left out, at once (the relay ends). */
    void reportAll() {
        for (RateLimitedLog limited : all) {
            limited.reportNow();
        }
    }
}
