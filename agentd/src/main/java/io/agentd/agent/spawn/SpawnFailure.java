package io.agentd.agent.spawn;

import io.agentd.protocol.payload.ExecFailed;

/** The command could not be started; carries the core.exec.failed payload to send. */
public final class SpawnFailure extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient ExecFailed failure;

    public SpawnFailure(ExecFailed failure) {
        super(failure.kind() + " at " + failure.stage() + ": " + failure.message());
        this.failure = failure;
    }

    public ExecFailed failure() {
        return failure;
    }
}
