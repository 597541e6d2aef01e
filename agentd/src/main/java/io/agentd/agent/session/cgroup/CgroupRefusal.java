package io.agentd.agent.session.cgroup;

import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.FailureKind;

/** A session's cgroup could not be made as requested: the typed core.exec.failed to answer with. */
public final class CgroupRefusal extends Exception {
    private final transient ExecFailed failure;

    CgroupRefusal(ExecFailed failure) {
        super(failure.message(), null, false, false);
        this.failure = failure;
    }

    /** A refusal of the cgroup stage: {@code errno} null when no call failed (a limit that cannot be had). */
    static CgroupRefusal of(FailureKind kind, Integer errno, String message) {
        return new CgroupRefusal(ExecFailed.of(kind, errno, errno == null ? null : Os.errnoName(errno), message,
                "cgroup"));
    }

    public ExecFailed failure() {
        return failure;
    }
}
