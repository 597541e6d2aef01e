package io.agentd.client;

import io.agentd.protocol.payload.SessionDetached;

/**
 * The session was detached ({@link ExecSession#detach}): it runs on in the agent without this host,
 * so its exit comes to whoever attaches to it, not here.
 */
public final class SessionDetachedException extends AgentException {
    private static final long serialVersionUID = 1L;

    private final transient SessionDetached detached;

    SessionDetachedException(SessionDetached detached) {
        super("session " + Long.toUnsignedString(detached.session()) + " was detached at output offset "
                + Long.toUnsignedString(detached.offset()) + ": it runs on, and an attach (AgentClient.attach)"
                + " gets the rest");
        this.detached = detached;
    }

    /** The session's number and the offset where its output here ended. */
    public SessionDetached detached() {
        return detached;
    }

    /** {@link #forCaller}'s copy of {@code recorded}. */
    private SessionDetachedException(SessionDetachedException recorded) {
        super(recorded.getMessage(), recorded);
        this.detached = recorded.detached;
    }

    @Override
    public SessionDetachedException forCaller() {
        return new SessionDetachedException(this);
    }
}
