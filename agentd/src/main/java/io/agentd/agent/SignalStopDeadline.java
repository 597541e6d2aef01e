package io.agentd.agent;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A stop asked for by a signal (TERM, INT, HUP) is the loop's to begin, and a loop that cannot take
 * it (blocked writing a log line to a standard error nobody reads: a console stopped with XOFF, a
 * pipe whose reader is suspended) left an agent that no signal but SIGKILL ended, and that init,
 * which restarts only an agent that exits, left hung (a review). The signal's handler thread waits
 * for the loop to begin the stop; past {@link #LIMIT_MILLIS} the process halts with 128 + the
 * signal, as the JVM's default would have ended it, and the next agent kills what it left running.
 * No line is logged then: the log is what may be blocked.
 */
final class SignalStopDeadline {
    static final long LIMIT_MILLIS = 10_000;

    private final CountDownLatch begun = new CountDownLatch(1);

    /** On the loop: the stop has begun (or the agent is exiting another way). */
    void begun() {
        begun.countDown();
    }

    /** On the thread that takes the stop signals ({@link StopSignals}): waits, or halts. */
    void awaitOrHalt(int signal) {
        try {
            if (!begun.await(LIMIT_MILLIS, TimeUnit.MILLISECONDS)) {
                Runtime.getRuntime().halt(128 + signal);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
