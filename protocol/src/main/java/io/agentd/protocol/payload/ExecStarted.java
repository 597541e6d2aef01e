package io.agentd.protocol.payload;

/**
 * core.exec.started: the pid (u32) of the session leader.
 *
 * @param session extension ("sessions"): the agent-wide session number, written only when the
 *                request asked {@code detachable}; null otherwise (omitted, so old hosts see {pid})
 */
public record ExecStarted(long pid, Long session) implements Payload {

    /** A started frame without a session number (what every non-detachable request gets). */
    public ExecStarted(long pid) {
        this(pid, null);
    }
}
