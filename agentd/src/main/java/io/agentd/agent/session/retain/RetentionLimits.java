package io.agentd.agent.session.retain;

/**
 * How much output and for how long the agent keeps for sessions nobody is attached to
 * (docs/PROTOCOL-EXTENSIONS.md, "Sessions").
 *
 * @param sessionBuffer      --session-buffer: most output bytes kept per session
 * @param totalBuffer        --session-buffer-total: most kept over all sessions
 * @param retainExitedMillis --retain-exited: how long an exited session's status waits for an attach
 */
public record RetentionLimits(long sessionBuffer, long totalBuffer, long retainExitedMillis) {
    public static final long DEFAULT_SESSION_BUFFER = 1L << 20;
    public static final long DEFAULT_TOTAL_BUFFER = 64L << 20;
    public static final long DEFAULT_RETAIN_EXITED_MILLIS = 600_000;
    public static final RetentionLimits DEFAULTS =
            new RetentionLimits(DEFAULT_SESSION_BUFFER, DEFAULT_TOTAL_BUFFER, DEFAULT_RETAIN_EXITED_MILLIS);

    public RetentionLimits {
        if (sessionBuffer < OutputRing.MIN_CAP || sessionBuffer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("--session-buffer must be within " + OutputRing.MIN_CAP + ".."
                    + (Integer.MAX_VALUE - 8) + ", not " + sessionBuffer);
        }
        if (totalBuffer < sessionBuffer) {
            throw new IllegalArgumentException("--session-buffer-total (" + totalBuffer
                    + ") must be at least --session-buffer (" + sessionBuffer + ")");
        }
        if (retainExitedMillis < 0) {
            throw new IllegalArgumentException("--retain-exited must not be negative");
        }
    }

    /** The account these limits make. */
    public OutputRetention newRetention() {
        return new OutputRetention(sessionBuffer, totalBuffer);
    }
}
