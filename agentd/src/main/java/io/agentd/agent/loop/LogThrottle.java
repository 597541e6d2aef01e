package io.agentd.agent.loop;

import java.util.concurrent.TimeUnit;

/**
 * Which occurrences of a problem that repeats get a log line: the first one, then at most one per
 * interval, which says how many happened since the previous line. Logging is synchronous on the
 * loop thread and the guest's console is a serial port, so a problem that recurs on every turn of
 * the loop must not write a line on every turn. Loop thread only.
 */
public final class LogThrottle {
    /** {@link #admit}'s answer for an occurrence that gets no line. */
    public static final long SKIP = -1;

    private final long intervalNanos;
    private boolean loggedBefore;
    private long lastLineNanos;
    private long notLogged;

    public LogThrottle(long intervalMillis) {
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMillis);
    }

    /**
     * Counts one occurrence at {@code nowNanos} ({@link System#nanoTime()}).
     *
     * @return {@link #SKIP} when it gets no line; otherwise how many occurrences went without a
     *         line since the previous one
     */
    public long admit(long nowNanos) {
        if (loggedBefore && nowNanos - lastLineNanos < intervalNanos) {
            notLogged++;
            return SKIP;
        }
        loggedBefore = true;
        lastLineNanos = nowNanos;
        long skipped = notLogged;
        notLogged = 0;
        return skipped;
    }

    /**
     * The end of a line {@link #admit} let through: nothing when no occurrence went without a line,
     * else {@code " (N MORE since the last such line)"}.
     */
    public static String sinceLastLine(long notLogged, String more) {
        return notLogged == 0 ? "" : " (" + notLogged + " " + more + " since the last such line)";
    }
}
