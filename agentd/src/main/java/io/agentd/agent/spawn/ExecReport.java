package io.agentd.agent.spawn;

import io.agentd.protocol.payload.ExecFailed;

/** Decodes what the exec helper wrote to the error pipe before exiting 127. */
public final class ExecReport {
    private ExecReport() {}

    /** The failure for a non-empty report (stage decides the kind first, errno second). */
    public static ExecFailed decode(byte[] report, int len, SpawnSpec spec) {
        throw new UnsupportedOperationException("TODO");
    }
}
