package io.agentd.protocol.payload;

/** The `kind` values of core.exec.failed (PROTOCOL.md). */
public enum FailureKind {
    NOT_FOUND("not_found"),
    PERMISSION_DENIED("permission_denied"),
    NOT_EXECUTABLE("not_executable"),
    BAD_CWD("bad_cwd"),
    BAD_ARGS("bad_args"),
    RESOURCE_LIMIT("resource_limit"),
    USER_SETUP_FAILED("user_setup_failed"),
    OUT_OF_MEMORY("out_of_memory"),
    PTY_SETUP_FAILED("pty_setup_failed"),
    OTHER("other");

    private final String wire;

    FailureKind(String wire) {
        this.wire = wire;
    }

    public String wire() {
        return wire;
    }

    public static FailureKind fromWire(String wire) {
        for (FailureKind k : values()) {
            if (k.wire.equals(wire)) {
                return k;
            }
        }
        return OTHER;
    }

    @Override
    public String toString() {
        return wire;
    }
}
