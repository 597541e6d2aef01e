package io.agentd.client;

/** The connection to the agent closed (or broke) while this call or session was open. */
public final class ConnectionLostException extends AgentException {
    private static final long serialVersionUID = 1L;

    public ConnectionLostException(String message, Throwable cause) {
        super(message, cause);
    }
}
