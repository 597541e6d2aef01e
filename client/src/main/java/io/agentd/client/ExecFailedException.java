package io.agentd.client;

import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.FailureKind;

/** core.exec.failed: the program never ran. Carries the agent's kind, errno and the step that failed. */
public final class ExecFailedException extends AgentException {
    private static final long serialVersionUID = 1L;

    private final String kindWire;
    private final Integer errno;
    private final String errnoName;
    private final String stage;
    private final String agentMessage;

    public ExecFailedException(ExecFailed failed) {
        super(describe(failed));
        this.kindWire = failed.kind();
        this.errno = failed.errno();
        this.errnoName = failed.errnoName();
        this.stage = failed.stage();
        this.agentMessage = failed.message();
    }

    private static String describe(ExecFailed f) {
        StringBuilder b = new StringBuilder(String.valueOf(f.kind()));
        if (f.stage() != null) {
            b.append(" at ").append(f.stage());
        }
        if (f.errnoName() != null || f.errno() != null) {
            b.append(" (").append(f.errnoName() != null ? f.errnoName() : "errno " + f.errno()).append(')');
        }
        if (f.message() != null && !f.message().isEmpty()) {
            b.append(": ").append(f.message());
        }
        return b.toString();
    }

    /** The failure kind; {@link FailureKind#OTHER} for a kind this client does not know (see {@link #kindWire}). */
    public FailureKind kind() {
        return FailureKind.fromWire(kindWire);
    }

    /** The kind exactly as the agent sent it. */
    public String kindWire() {
        return kindWire;
    }

    /** The errno of the failed step, or null. */
    public Integer errno() {
        return errno;
    }

    /** The errno's symbolic name (e.g. "ENOENT"), or null. */
    public String errnoName() {
        return errnoName;
    }

    /** The step that failed (e.g. "execve", "chdir", "setrlimit(RLIMIT_NOFILE)"), or null. */
    public String stage() {
        return stage;
    }

    /** The agent's message alone (getMessage() adds kind, stage and errno). */
    public String agentMessage() {
        return agentMessage;
    }

    /** {@link #forCaller}'s copy of {@code recorded}. */
    private ExecFailedException(ExecFailedException recorded) {
        super(recorded.getMessage(), recorded);
        this.kindWire = recorded.kindWire;
        this.errno = recorded.errno;
        this.errnoName = recorded.errnoName;
        this.stage = recorded.stage;
        this.agentMessage = recorded.agentMessage;
    }

    @Override
    public ExecFailedException forCaller() {
        return new ExecFailedException(this);
    }
}
