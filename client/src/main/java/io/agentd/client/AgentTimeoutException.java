package io.agentd.client;

/**
 * The agent was silent for a call's whole timeout: no answer to a request, no data for a read, no
 * credit for a write. Not a lost connection: the connection may still be open (the agent hung, or is
 * too busy to answer in time), so unlike {@link ConnectionLostException} nothing makes the next call
 * fail at once; it may wait the whole timeout again. The call that timed out has given up its
 * request id, and an answer that comes later is dropped.
 */
public final class AgentTimeoutException extends AgentException {
    private static final long serialVersionUID = 1L;

    public AgentTimeoutException(String message) {
        super(message);
    }

    public AgentTimeoutException(String message, Throwable cause) {
        super(message, cause);
    }
}
