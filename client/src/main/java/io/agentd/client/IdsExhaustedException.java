package io.agentd.client;

/**
 * Every id this connection may use is taken by an open session or call (behind a relay: every id of
 * the client's range). Nothing was sent; closing sessions frees ids.
 */
public final class IdsExhaustedException extends AgentException {
    private static final long serialVersionUID = 1L;

    public IdsExhaustedException(String message) {
        super(message);
    }

    /** {@link #forCaller}'s copy of {@code recorded}. */
    private IdsExhaustedException(IdsExhaustedException recorded) {
        super(recorded.getMessage(), recorded);
    }

    @Override
    public IdsExhaustedException forCaller() {
        return new IdsExhaustedException(this);
    }
}
