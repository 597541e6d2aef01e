package io.agentd.client;

import java.util.concurrent.TimeoutException;

/**
 * The agent was silent for a call's whole timeout: no answer to a request, no data for a read, no
 * credit for a write, or it read nothing, so that the call could not even be sent
 * ({@link #nothingSent}). Not a lost connection: the connection may still be open (the agent hung, or is
 * too busy to answer in time), so unlike {@link ConnectionLostException} nothing makes the next call
 * fail at once; it may wait the whole timeout again. The call that timed out has given up its
 * request id, and an answer that comes later is dropped.
 */
public final class AgentTimeoutException extends AgentException {
    private static final long serialVersionUID = 1L;

    private boolean nothingSent;

    public AgentTimeoutException(String message) {
        super(message);
    }

    public AgentTimeoutException(String message, Throwable cause) {
        super(message, cause);
    }

    /** A call that could not even send its request in its time: see {@link #nothingSent}. */
    static AgentTimeoutException notSent(String message) {
        AgentTimeoutException e = new AgentTimeoutException(message);
        e.nothingSent = true;
        return e;
    }

    /**
     * True when the call timed out before any byte of it went out (the agent read nothing, or another
     * write held the connection all along): the agent knows nothing of it. False when the request was
     * sent and its answer, data or credit did not come.
     */
    public boolean nothingSent() {
        return nothingSent;
    }

    /** This timeout as the {@link TimeoutException} of a call that declares one, its message after {@code context}. */
    TimeoutException asTimeoutException(String context) {
        TimeoutException t = new TimeoutException(context + getMessage());
        t.initCause(this);
        return t;
    }

    /** {@link #forCaller}'s copy of {@code recorded}. */
    private AgentTimeoutException(AgentTimeoutException recorded) {
        super(recorded.getMessage(), recorded);
        this.nothingSent = recorded.nothingSent;
    }

    @Override
    public AgentTimeoutException forCaller() {
        return new AgentTimeoutException(this);
    }
}
