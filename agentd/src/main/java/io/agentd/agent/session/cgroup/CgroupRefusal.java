package io.agentd.agent.session.cgroup;

import io.agentd.protocol.payload.ExecFailed;

/** A session's cgroup could not be made as requested: the typed core.exec.failed to answer with. */
public final class CgroupRefusal extends Exception {
    private final transient ExecFailed failure;

    CgroupRefusal(ExecFailed failure) {
        super(failure.message(), null, false, false);
        this.failure = failure;
    }

    public ExecFailed failure() {
        return failure;
    }
}
