package io.agentd.protocol.payload;

/**
 * core.exec.exited.
 *
 * @param code     exit code, or 128 + signal for a signal death (never -1 for a signal)
 * @param signal   extension: the signal that killed the process, null for a normal exit (omitted)
 * @param timedOut extension: true when the agent killed it at timeout_ms, null otherwise (omitted)
 */
public record ExecExited(int code, Integer signal, Boolean timedOut) implements Payload {
    public static ExecExited normal(int code) {
        return new ExecExited(code, null, null);
    }
}
