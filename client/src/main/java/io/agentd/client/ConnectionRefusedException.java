package io.agentd.client;

import io.agentd.protocol.payload.ErrorPayload;

/**
 * The peer answered the connection with a core.error on id 0 before any core.ready: a relay that
 * already serves its 128 clients does this, then closes. The message is the peer's.
 */
public final class ConnectionRefusedException extends AgentException {
    private static final long serialVersionUID = 1L;

    private final transient ErrorPayload error;

    public ConnectionRefusedException(String peer, ErrorPayload error) {
        super(peer + " refused the connection: " + error.kind() + ": " + error.message());
        this.error = error;
    }

    /** The core.error as the peer sent it. */
    public ErrorPayload error() {
        return error;
    }

    /** {@link #forCaller}'s copy of {@code recorded}. */
    private ConnectionRefusedException(ConnectionRefusedException recorded) {
        super(recorded.getMessage(), recorded);
        this.error = recorded.error;
    }

    @Override
    public ConnectionRefusedException forCaller() {
        return new ConnectionRefusedException(this);
    }
}
