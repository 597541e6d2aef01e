package io.agentd.client;

/** The connection to the agent closed (or broke) while this call or session was open. */
public final class ConnectionLostException extends AgentException {
    private static final long serialVersionUID = 1L;

    public ConnectionLostException(String message, Throwable cause) {
        super(message, cause);
    }

    /** {@link #forCaller}'s copy of {@code recorded}. */
    private ConnectionLostException(ConnectionLostException recorded) {
        super(recorded.getMessage(), recorded);
    }

    @Override
    public ConnectionLostException forCaller() {
        return new ConnectionLostException(this);
    }
}
