package io.agentd.protocol.payload;

/**
 * core.exec.exited.
 *
 * @param code     exit code, or 128 + signal for a signal death (never -1 for a signal)
 * @param signal   extension: the signal that killed the process, null for a normal exit (omitted)
 * @param timedOut extension: true when the agent killed it at timeout_ms, null otherwise (omitted)
 * @param usage    extension: the session's CPU time, peak memory and OOM kill, each omitted when
 *                 unknown; never null ({@link ResourceUsage#UNKNOWN})
 */
public record ExecExited(int code, Integer signal, Boolean timedOut, ResourceUsage usage) implements Payload {
    public ExecExited {
        usage = usage == null ? ResourceUsage.UNKNOWN : usage;
    }

    /** Without resource usage (an agent or session without a cgroup). */
    public ExecExited(int code, Integer signal, Boolean timedOut) {
        this(code, signal, timedOut, ResourceUsage.UNKNOWN);
    }

    public static ExecExited normal(int code) {
        return new ExecExited(code, null, null);
    }
}
