package io.agentd.client;

import io.agentd.protocol.HostText;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * One kind of log line that the agent causes once per frame it sends (a core.error on id 0, an
 * undecodable frame, a frame a session does not expect), for one connection: the agent is the
 * untrusted side, and 5000 such frames made 5000 lines. The first gets a line, then at most one
 * per {@link #INTERVAL_MILLIS}; the ones left out are counted in a line of their own, written by
 * the reader once their interval is over (after its next read), or when the connection ends.
 * The reader takes lines; whoever ends the connection (the reader, {@code close()}) reports.
 */
final class AgentLineLimit {
    static final long INTERVAL_MILLIS = 10_000;
    /** Characters of an agent's message shown at most in a line (its kind or a type: a quote's). */
    static final int MESSAGE_MAX_CHARS = 300;

    private final Logger log;
    private final String what;
    private final long intervalNanos;
    private final LongSupplier nanoClock;
    private boolean lineLogged;
    private long lineNanos;
    private long leftOut;

    AgentLineLimit(Logger log, String what) {
        this(log, what, INTERVAL_MILLIS, System::nanoTime);
    }

    /** {@code what} names the lines in the count: "N more {what} not logged ...". */
    AgentLineLimit(Logger log, String what, long intervalMillis, LongSupplier nanoClock) {
        this.log = log;
        this.what = what;
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMillis);
        this.nanoClock = nanoClock;
    }

    /** True when this occurrence may be logged now (the caller writes the line); false counts it. */
    synchronized boolean take() {
        long now = nanoClock.getAsLong();
        if (lineLogged && now - lineNanos < intervalNanos) {
            leftOut++;
            return false;
        }
        report(now);
        lineLogged = true;
        lineNanos = now;
        return true;
    }

    /** Writes the count of the lines left out once their interval is over. */
    synchronized void reportIfDue() {
        if (leftOut > 0) {
            long now = nanoClock.getAsLong();
            if (now - lineNanos >= intervalNanos) {
                report(now);
            }
        }
    }

    /** Writes the count of the lines left out, if any (the connection is over). */
    synchronized void reportNow() {
        report(nanoClock.getAsLong());
    }

    private void report(long now) {
        if (leftOut == 0) {
            return;
        }
        log.warn("{} more {} not logged (in the {} ms since the last one logged)", leftOut, what,
                TimeUnit.NANOSECONDS.toMillis(now - lineNanos));
        leftOut = 0;
    }

    /** Text the agent sent, quoted and escaped ({@link HostText#quote}): it can forge no line. */
    static String quote(String text) {
        return HostText.quote(text, HostText.QUOTE_MAX);
    }

    /**
     * A message the agent sent or that quotes what it sent ({@link HostText#unquoted}): escaped and
     * cut, one line whatever it holds, with text it already quotes shown once, not escaped again.
     */
    static String message(String text) {
        return HostText.unquoted(text, MESSAGE_MAX_CHARS);
    }
}
