package io.agentd.client.fs;

import io.agentd.client.AgentException;

/**
 * The SHA-256 the agent reported for the bytes of a Read or a Write is not that of the bytes this
 * client got or sent: the transfer was corrupted on the way.
 */
public final class ChecksumMismatchException extends AgentException {
    private static final long serialVersionUID = 1L;

    public ChecksumMismatchException(String path, String agentSha256, String localSha256) {
        super(path + ": SHA-256 mismatch: the agent counted " + agentSha256 + ", this client " + localSha256);
    }

    /** {@link #forCaller}'s copy of {@code recorded}. */
    private ChecksumMismatchException(ChecksumMismatchException recorded) {
        super(recorded.getMessage(), recorded);
    }

    @Override
    public ChecksumMismatchException forCaller() {
        return new ChecksumMismatchException(this);
    }
}
