package io.agentd.client.cli;

import io.agentd.client.AgentClient;
import io.agentd.client.ExecSession;
import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import sun.misc.Signal;

/**
 * What SIGINT, SIGTERM and SIGHUP sent to agentctl do while its session runs: passed on to the
 * command (--sig-proxy, the default), or a detach (--sig-proxy=false).
 */
final class StopSignals {
    private static final List<String> FORWARDED_SIGNALS = List.of("INT", "TERM", "HUP");

    /** The session once open returns (null when it failed); a signal may come before that. */
    private final CompletableFuture<ExecSession> opened;
    private final CommandOutput output;
    /** What a line about the command names: the command. */
    private final String what;
    private final PrintStream err;
    /** Set by the first signal that asks to leave: a second one does not wait for the detach. */
    private final AtomicBoolean leaving = new AtomicBoolean();

    StopSignals(CompletableFuture<ExecSession> opened, CommandOutput output, String what, PrintStream err) {
        this.opened = opened;
        this.output = output;
        this.what = what;
        this.err = err;
    }

    /**
     * SIGINT, SIGTERM and SIGHUP sent to agentctl go to the remote command, and agentctl goes on
     * waiting for its exit status (as `docker run` does): over a virtio port the agent keeps a
     * session when its host hangs up, so dying here would leave the command running in the guest.
     * When the signal cannot be sent, the session or the connection has ended, and the main thread
     * reports that (the command's status, or 125).
     */
    void forwardTo(AgentClient client) {
        AgentAnswerWatch watch = new AgentAnswerWatch(client, output, what, err);
        onStopSignals((session, signal, status) -> {
            watch.start(session); // first: the send below may wait behind a stuck writer
            try {
                session.signal(signal.getNumber());
            } catch (IOException e) {
                // It ended meanwhile (its status stands), or the connection did (125): the main
                // thread, told by the same end, reports it; exiting here would replace that.
            }
        });
    }

    /**
     * --sig-proxy=false: SIGINT, SIGTERM and SIGHUP leave the session running, as the detach keys
     * do (agentctl prints how to attach again and exits 0). A second signal while the agent is asked
     * does not wait for it. When the agent cannot detach a session (no session_detach), or the
     * detach fails, agentctl ends as the signal would (128 + N) and the session gets what the agent
     * does when its host goes away.
     */
    void detachOn(boolean agentDetaches) {
        onStopSignals((session, signal, status) -> {
            if (!leaving.compareAndSet(false, true)) {
                System.exit(status);
            }
            if (!agentDetaches) {
                err.println("agentctl: this agent cannot detach a session (no session_detach);"
                        + " leaving it to what the agent does when its host goes away");
                System.exit(status);
            }
            if (!UserDetach.ask(session, err, "") && !session.isDone()) {
                System.exit(status);
            }
        });
    }

    /** What SIGINT, SIGTERM or SIGHUP does while the session runs; {@code status} is 128 + N. */
    private interface StopSignal {
        void handle(ExecSession session, Signal signal, int status);
    }

    /**
     * Installs {@code whileRunning} for SIGINT, SIGTERM and SIGHUP, before the session is opened.
     * A signal that comes while it opens waits for it once its output was shown (whoever saw that
     * output may have sent the signal in answer), and otherwise ends agentctl as the signal would,
     * as it did before anything was shown. Once the session has ended (or failed to open) there is
     * nothing left to pass a signal on to or to detach: agentctl ends as the signal would.
     */
    private void onStopSignals(StopSignal whileRunning) {
        for (String name : FORWARDED_SIGNALS) {
            Signal.handle(new Signal(name), signal -> {
                int status = 128 + signal.getNumber();
                ExecSession session = opened.getNow(null);
                if (session == null && output.shown()) {
                    session = opened.join(); // a handler's own thread: open returns or fails soon
                }
                if (session == null || session.isDone()) {
                    System.exit(status);
                }
                whileRunning.handle(session, signal, status);
            });
        }
    }
}
