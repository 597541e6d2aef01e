package io.agentd.client.cli;

import io.agentd.client.AgentException;
import io.agentd.client.ExecSession;
import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * Asking the agent to detach a session, the user's way of leaving it running: the detach keys and,
 * with --sig-proxy=false, SIGINT, SIGTERM and SIGHUP. Both say a refusal the same way.
 */
final class UserDetach {
    /** How long the agent gets to answer a detach asked with the detach keys. */
    static final Duration DETACH_WAIT = Duration.ofSeconds(30);

    private UserDetach() {}

    /**
     * Asks the agent to detach; true when it did (the main thread, told by the session's end, says
     * so). A refusal is said on {@code err} in one line, ended by {@code then} (what happens next)
     * unless the session has ended meanwhile (the refusal then says that it exited).
     */
    static boolean ask(ExecSession session, PrintStream err, String then) {
        try {
            session.detach(DETACH_WAIT);
            return true;
        } catch (AgentException | TimeoutException e) {
            // Raw mode: the line needs its own carriage returns. The message holds the agent's words:
            // escaped, as every agent text agentctl prints (ControlChars.fromAgent).
            String message = ControlChars.fromAgent(e.getMessage());
            String why = message.startsWith("cannot detach") ? message : "cannot detach: " + message;
            err.print("\r\nagentctl: " + why + (session.isDone() ? "" : then) + "\r\n");
            err.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }
}
