package io.agentd.client;

import io.agentd.protocol.payload.ResourceUsage;
import java.nio.charset.StandardCharsets;

/**
 * A session run to completion by {@link AgentClient#run}.
 *
 * @param stdout   everything the process wrote to stdout (all output, for a PTY session)
 * @param stderr   everything it wrote to stderr (empty for a PTY session)
 * @param exitCode exit code; 128 + signal for a signal death
 * @param signal   the signal that killed it, or null
 * @param timedOut true when the agent killed it at the request's timeout_ms
 * @param usage    CPU time, peak memory and OOM kill as the agent counted them ({@link ExitStatus#usage})
 */
public record ExecResult(byte[] stdout, byte[] stderr, int exitCode, Integer signal, boolean timedOut,
        ResourceUsage usage) {
    public ExecResult {
        usage = usage == null ? ResourceUsage.UNKNOWN : usage;
    }

    /** Without resource usage. */
    public ExecResult(byte[] stdout, byte[] stderr, int exitCode, Integer signal, boolean timedOut) {
        this(stdout, stderr, exitCode, signal, timedOut, ResourceUsage.UNKNOWN);
    }

    public String stdoutText() {
        return new String(stdout, StandardCharsets.UTF_8);
    }

    public String stderrText() {
        return new String(stderr, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "ExecResult[exitCode=" + exitCode + ", signal=" + signal + ", timedOut=" + timedOut
                + ", stdout=" + stdout.length + " bytes, stderr=" + stderr.length + " bytes]";
    }
}
