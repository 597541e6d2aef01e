package io.agentd.agent.loop;

import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.event.Level;

/**
 * Which occurrences of a problem that repeats get a log line: the first one, then at most one per
 * interval. Logging is synchronous on the loop thread and the guest's console is a serial port, so a
 * problem that recurs on every turn of the loop must not write a line on every turn. Loop thread only.
 *
 * <p>Made with a {@link Loop} ({@link #LogThrottle(Loop, long, Logger, Level, String)}), the
 * occurrences left out are counted in a line of their own, {@code "N more WHAT in the last T not
 * logged"}, once the interval after the line that got through is over (a timer on the loop), or
 * just before the next line that gets through if that comes first: a burst ends with its count
 * within the interval, and the count never rides on a later line about something else (another
 * peer, another session). Use {@link #take}.
 *
 * <p>Made without one ({@link #LogThrottle(long)}, for callers that have no loop), the count is
 * only known when the next line gets through: {@link #admit} returns it and the caller appends
 * {@link #sinceLastLine}.
 */
public final class LogThrottle {
    /** {@link #admit}'s answer for an occurrence that gets no line. */
    public static final long SKIP = -1;

    private final long intervalMillis;
    private final long intervalNanos;
    private final Loop loop;
    private final Logger log;
    private final Level level;
    private final String what;
    private boolean loggedBefore;
    private long lastLineNanos;
    private long notLogged;
    /** The line counting those left out, due at the end of the interval; null when none is pending. */
    private Loop.Timer summary;

    /** A throttle whose caller appends the count to the next line ({@link #admit}, {@link #sinceLastLine}). */
    public LogThrottle(long intervalMillis) {
        this(null, intervalMillis, null, null, null);
    }

    /**
     * A throttle that logs the count of the occurrences left out itself, on {@code log} at
     * {@code level} (the level of the lines it throttles), naming them {@code what} (a plural: "refused
     * connections from peers not allowed on unix:/run/agentd.sock").
     */
    public LogThrottle(Loop loop, long intervalMillis, Logger log, Level level, String what) {
        this.intervalMillis = intervalMillis;
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMillis);
        this.loop = loop;
        this.log = log;
        this.level = level;
        this.what = what;
    }

    /**
     * Counts one occurrence now (the loop's clock), for a throttle made with a loop: true when it gets
     * a line (the caller writes it; any count pending is logged first), false when it is left out and
     * counted for the line at the end of the interval.
     */
    public boolean take() {
        if (loop == null) {
            throw new IllegalStateException("a throttle without a loop: use admit");
        }
        long now = loop.nanoTime();
        if (loggedBefore && now - lastLineNanos < intervalNanos) {
            notLogged++;
            if (summary == null) {
                long dueMillis = TimeUnit.NANOSECONDS.toMillis(lastLineNanos + intervalNanos - now + 999_999);
                summary = loop.schedule(dueMillis, this::logLeftOut);
            }
            return false;
        }
        if (summary != null) {
            summary.cancel();
            logLeftOut();
        }
        loggedBefore = true;
        lastLineNanos = now;
        return true;
    }

    /**
     * As {@link #take}, for lines at a level the log may have off (debug): false while the logger
     * takes nothing at the throttle's level, and then nothing is counted and no timer set, so a
     * throttled debug line costs one level check while debug is off.
     */
    public boolean takeIfLogged() {
        if (loop == null) {
            throw new IllegalStateException("a throttle without a loop: use admit");
        }
        return log.isEnabledForLevel(level) && take();
    }

    private void logLeftOut() {
        summary = null;
        if (notLogged == 0) {
            return;
        }
        String line = notLogged + " more " + what + " in the last " + interval() + " not logged";
        notLogged = 0;
        switch (level) {
            case ERROR -> log.error(line);
            case WARN -> log.warn(line);
            case INFO -> log.info(line);
            case DEBUG -> log.debug(line);
            case TRACE -> log.trace(line);
        }
    }

    private String interval() {
        if (intervalMillis == 1000) {
            return "second";
        }
        if (intervalMillis == 60_000) {
            return "minute";
        }
        return intervalMillis % 1000 == 0 ? intervalMillis / 1000 + " s" : intervalMillis + " ms";
    }

    /**
     * Counts one occurrence at {@code nowNanos} ({@link System#nanoTime()}), for a throttle made
     * without a loop.
     *
     * @return {@link #SKIP} when it gets no line; otherwise how many occurrences went without a
     *         line since the previous one
     */
    public long admit(long nowNanos) {
        if (loop != null) {
            throw new IllegalStateException("a throttle with a loop logs its own count: use take");
        }
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
