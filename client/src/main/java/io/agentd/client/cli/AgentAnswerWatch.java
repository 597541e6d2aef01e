package io.agentd.client.cli;

import io.agentd.client.AgentClient;
import io.agentd.client.AgentException;
import io.agentd.client.ConnectionLostException;
import io.agentd.client.ExecSession;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * After a signal passed on, while the command runs on: every {@link #SIGNAL_ANSWER_WAIT} the
 * agent is asked for a pong, and none within {@link #AGENT_ANSWER_WAIT} (a paused VM, a hung
 * agent) ends agentctl with 125, the terminal restored by the shutdown hook. Without it, ^C
 * went nowhere and agentctl waited for ever (only SIGKILL ended it, leaving the terminal raw).
 * A command that traps the signal and runs on, on an agent that answers, runs on; so does one
 * whose output our own stdout does not take ({@link CommandOutput#heldReaderSince}).
 */
final class AgentAnswerWatch {
    /** How long a command may run on after a signal passed on before agentctl checks that the agent answers. */
    static final Duration SIGNAL_ANSWER_WAIT = Duration.ofSeconds(10);
    /**
     * How long a pong may take then before agentctl gives up on the agent: longer than a relay
     * holds everyone up for a client that does not read (10 s), so that another client's stall is
     * not taken for a dead agent.
     */
    static final Duration AGENT_ANSWER_WAIT = Duration.ofSeconds(15);

    private final AgentClient client;
    private final CommandOutput output;
    /** What the give-up line names: the command. */
    private final String what;
    private final PrintStream err;
    /** A watch runs (one is enough: the first signal starts it). */
    private final AtomicBoolean watching = new AtomicBoolean();

    AgentAnswerWatch(AgentClient client, CommandOutput output, String what, PrintStream err) {
        this.client = client;
        this.output = output;
        this.what = what;
        this.err = err;
    }

    /** Starts the watch on its own daemon thread, unless one runs already. */
    void start(ExecSession session) {
        if (!watching.compareAndSet(false, true)) {
            return;
        }
        Thread watch = new Thread(() -> {
            try {
                while (!endsWithin(session, SIGNAL_ANSWER_WAIT)) {
                    long asked = System.nanoTime();
                    try {
                        client.ping(AGENT_ANSWER_WAIT);
                    } catch (ConnectionLostException lost) {
                        return; // the main thread reports it (125)
                    } catch (TimeoutException | IOException noAnswer) {
                        if (noAnswer instanceof TimeoutException && output.heldReaderSince(asked)) {
                            continue; // the pong waited behind output our own stdout was slow to take
                        }
                        if (!session.isDone()) {
                            err.println("agentctl: the agent does not answer (" + noAnswer.getMessage() + ") after a"
                                    + " signal was passed on to " + what + ": giving up on it; it may still run in the guest");
                            System.exit(Agentctl.EXIT_UNAVAILABLE);
                        }
                        return;
                    }
                }
            } catch (InterruptedException e) {
                // not interrupted by anyone: nothing to watch
            }
        }, "agentctl-signal-watch");
        watch.setDaemon(true);
        watch.start();
    }

    /** True once the session has ended (however: its failure is the main thread's to report), false if still running after {@code wait}. */
    static boolean endsWithin(ExecSession session, Duration wait) throws InterruptedException {
        try {
            session.awaitExit(wait);
            return true;
        } catch (TimeoutException stillRunning) {
            return false;
        } catch (AgentException ended) {
            return true;
        }
    }
}
