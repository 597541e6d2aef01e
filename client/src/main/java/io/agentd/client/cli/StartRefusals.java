package io.agentd.client.cli;

import io.agentd.client.AgentException;
import io.agentd.client.ExecFailedException;
import io.agentd.protocol.payload.FailureKind;
import java.io.PrintStream;

/**
 * How exec, attach and exec --detach say that a session was not started or attached (the agent's
 * message on stderr, its control characters made visible) and the status agentctl exits with.
 */
final class StartRefusals {
    private StartRefusals() {}

    /**
     * Says {@code refused} on {@code err}; the status: {@link Agentctl#EXIT_NOT_FOUND} for a command
     * the agent did not find, else {@link Agentctl#EXIT_CANNOT_RUN} (it could not run it, or the
     * request was refused, by the agent or, for a feature its ready does not list, by the client).
     */
    static int report(AgentException refused, PrintStream err) {
        err.println("agentctl: " + ControlChars.fromAgent(refused.getMessage()));
        return refused instanceof ExecFailedException failed && failed.kind() == FailureKind.NOT_FOUND
                ? Agentctl.EXIT_NOT_FOUND : Agentctl.EXIT_CANNOT_RUN;
    }
}
