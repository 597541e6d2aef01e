package io.agentd.protocol.payload;

/**
 * core.exec.failed, sent instead of started when the program never ran.
 *
 * @param kind a {@link FailureKind} wire string
 */
public record ExecFailed(String kind, Integer errno, String errnoName, String message, String stage)
        implements Payload {
    public static ExecFailed of(FailureKind kind, Integer errno, String errnoName, String message, String stage) {
        return new ExecFailed(kind.wire(), errno, errnoName, message, stage);
    }
}
