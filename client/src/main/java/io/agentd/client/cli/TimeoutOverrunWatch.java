package io.agentd.client.cli;

import io.agentd.client.AgentClient;
import io.agentd.client.AgentException;
import io.agentd.client.ConnectionLostException;
import io.agentd.client.ExecSession;
import io.agentd.protocol.payload.Ready;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code exec --timeout} bounded on this side too. The agent stops the command at its timeout_ms
 * (SIGTERM, SIGKILL after its grace) and owes its exited by the timeout, the grace and the drain
 * window from the start; a guest that answers pongs but never sends it (broken or hostile) held
 * agentctl for ever, as {@link AgentAnswerWatch} sees an agent that answers. From the started
 * on, this watch waits that long and {@link #OVERRUN_WAIT} more, then ends agentctl with 125 and
 * a line. Time our own stdout held the connection's reader ({@link CommandOutput#heldReaderSince})
 * is not the agent's: the exit may be waiting behind it, so the wait starts again after it. Nor is
 * time agentctl itself did not run (stopped by ^Z or SIGSTOP): an exit sent meanwhile is unread in
 * the connection when the watch wakes, so before it gives up it asks for a pong, which is read after
 * everything the agent sent before it.
 *
 * <p>The wait for the started itself is not bounded: the timeout counts from the spawn, and an
 * agent starting many commands answers each in turn.
 */
final class TimeoutOverrunWatch {
    /** What agentctl waits past the owed exit: as long as for a pong, for the same reason (a relay's stall). */
    static final Duration OVERRUN_WAIT = AgentAnswerWatch.AGENT_ANSWER_WAIT;
    /**
     * The most grace or drain agentctl believes: the guest is the untrusted side, and a grace of
     * 2^64-1 ms would hold agentctl for ever again. Also what it waits for each when the agent does
     * not say them (one before grace_ms and drain_ms): such an agent may run with any --grace-ms or
     * --drain-ms, and taking its defaults (2000, 250) gave up on it within its grace.
     */
    static final long BELIEVED_MAX_MS = Duration.ofMinutes(10).toMillis();

    private final Duration timeout;
    private final AgentClient client;
    private final long graceMs;
    private final long drainMs;
    /** How the give-up line names the grace and drain window: as the agent said them, or that it did not. */
    private final String owedWhy;
    private final CommandOutput output;
    /** What the give-up line names: the command. */
    private final String what;
    private final PrintStream err;

    TimeoutOverrunWatch(Duration timeout, AgentClient client, CommandOutput output, String what, PrintStream err) {
        this.timeout = timeout;
        this.client = client;
        Ready ready = client.ready();
        this.graceMs = believed(ready.graceMs());
        this.drainMs = believed(ready.drainMs());
        this.owedWhy = ready.graceMs() == null || ready.drainMs() == null
                ? "its grace and drain window, which the agent does not say, taken as " + graceMs + " ms each"
                : "its grace " + graceMs + " ms and drain window " + drainMs + " ms";
        this.output = output;
        this.what = what;
        this.err = err;
    }

    /** The agent's value (a u64, so past 2^63 it reads negative), bounded; the bound when it says none. */
    private static long believed(Long agentsMs) {
        if (agentsMs == null || agentsMs < 0) {
            return BELIEVED_MAX_MS;
        }
        return Math.min(agentsMs, BELIEVED_MAX_MS);
    }

    /**
     * How long after the started agentctl waits for the exit of a command that ran to its timeout:
     * the timeout, the grace and the drain window the agent owes it by, and {@link #OVERRUN_WAIT}.
     */
    Duration owedAfterStart() {
        try {
            return timeout.plusMillis(graceMs).plusMillis(drainMs).plus(OVERRUN_WAIT);
        } catch (ArithmeticException past) {
            return ChronoUnit.FOREVER.getDuration(); // a --timeout of centuries: no bound worth keeping
        }
    }

    /** Starts the watch on its own daemon thread: it ends with the session, or ends agentctl. */
    void start(ExecSession session) {
        Thread watch = new Thread(() -> {
            try {
                session.awaitStarted(ChronoUnit.FOREVER.getDuration());
                long started = System.nanoTime();
                Duration wait = owedAfterStart();
                while (true) {
                    long since = System.nanoTime();
                    if (AgentAnswerWatch.endsWithin(session, wait)) {
                        return;
                    }
                    wait = OVERRUN_WAIT;
                    if (output.heldReaderSince(since)) {
                        continue; // the exit may have waited behind our own stdout
                    }
                    long asked = System.nanoTime();
                    try {
                        client.ping(OVERRUN_WAIT); // what the agent sent before the pong has been read after it
                    } catch (ConnectionLostException lost) {
                        return; // the main thread reports it (125)
                    } catch (TimeoutException | IOException noAnswer) {
                        if (noAnswer instanceof TimeoutException && output.heldReaderSince(asked)) {
                            continue;
                        }
                    }
                    if (session.isDone()) {
                        return;
                    }
                    break;
                }
                err.println("agentctl: " + what + " ran past --timeout " + Agentctl.human(timeout)
                        + " and the agent has not reported its end "
                        + Agentctl.human(Duration.ofNanos(System.nanoTime() - started).truncatedTo(ChronoUnit.SECONDS))
                        + " after its start (owed by then: " + owedWhy + ", and " + Agentctl.human(OVERRUN_WAIT)
                        + " more): giving up on it; it may still run in the guest");
                System.exit(Agentctl.EXIT_UNAVAILABLE);
            } catch (AgentException | TimeoutException notStarted) {
                // ended before it started (refused, connection lost): the main thread reports it
            } catch (InterruptedException e) {
                // not interrupted by anyone: nothing to watch
            }
        }, "agentctl-timeout-watch");
        watch.setDaemon(true);
        watch.start();
    }
}
