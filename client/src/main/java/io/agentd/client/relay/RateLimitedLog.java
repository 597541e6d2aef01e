package io.agentd.client.relay;

import java.util.concurrent.TimeUnit;

/**
 * Which occurrences of a problem that a peer can repeat at will get a log line: the first, then at
 * most one per interval, which says how many went without one. Selector thread only.
 */
final class RateLimitedLog {
    private final long intervalNanos;
    private boolean loggedBefore;
    private long lastLineNanos;
    private long skipped;

    RateLimitedLog(long intervalMillis) {
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMillis);
    }

    /** Null when this occurrence gets no line; else the suffix to append (how many were skipped). */
    String admit() {
        long now = System.nanoTime();
        if (loggedBefore && now - lastLineNanos < intervalNanos) {
            skipped++;
            return null;
        }
        loggedBefore = true;
        lastLineNanos = now;
        String suffix = skipped == 0 ? "" : " (" + skipped + " more since the last such line)";
        skipped = 0;
        return suffix;
    }
}
