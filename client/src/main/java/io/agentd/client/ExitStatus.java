package io.agentd.client;

import io.agentd.protocol.payload.ResourceUsage;

/**
 * How a session's process ended (core.exec.exited).
 *
 * @param code     exit code; 128 + signal for a signal death
 * @param signal   the signal that killed it, or null for a normal exit (or an agent that does not say)
 * @param timedOut true when the agent killed it at the request's timeout_ms
 * @param usage    CPU time, peak memory and OOM kill from the session's cgroup, each null when the
 *                 agent did not say (no cgroup, no controller, an older agent); never null itself
 */
public record ExitStatus(int code, Integer signal, boolean timedOut, ResourceUsage usage) {
    public ExitStatus {
        usage = usage == null ? ResourceUsage.UNKNOWN : usage;
    }

    /** Without resource usage. */
    public ExitStatus(int code, Integer signal, boolean timedOut) {
        this(code, signal, timedOut, ResourceUsage.UNKNOWN);
    }
}
