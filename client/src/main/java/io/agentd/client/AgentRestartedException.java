package io.agentd.client;

/**
 * The agent on the other end was replaced by a new agent process while this call or session was
 * open: a core.ready with another start time arrived on the same connection. Over a virtio port
 * this is the guest's init restarting an agent that died; the old agent's sessions will never
 * report their exit. (A request sent just before the restart may still have been run by the new
 * agent; its frames are then dropped.) The connection stays usable for new sessions.
 */
public final class AgentRestartedException extends AgentException {
    private static final long serialVersionUID = 1L;

    public AgentRestartedException(String message) {
        super(message);
    }

    /** {@link #forCaller}'s copy of {@code recorded}. */
    private AgentRestartedException(AgentRestartedException recorded) {
        super(recorded.getMessage(), recorded);
    }

    @Override
    public AgentRestartedException forCaller() {
        return new AgentRestartedException(this);
    }
}
