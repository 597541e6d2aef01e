package io.agentd.client;

import java.util.concurrent.TimeoutException;

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

    /** This timeout as the {@link TimeoutException} of a call that declares one, its message after {@code context}. */
    TimeoutException asTimeoutException(String context) {
        TimeoutException t = new TimeoutException(context + getMessage());
        t.initCause(this);
        return t;
    }
}
