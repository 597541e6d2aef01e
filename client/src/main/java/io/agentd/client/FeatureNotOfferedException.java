package io.agentd.client;

/**
 * The agent does not offer what was asked: its core.ready does not list the feature it needs, so
 * the client refused the request itself and sent nothing. The connection is fine (agentctl: 126,
 * as for a request the agent refused, not 125).
 */
public final class FeatureNotOfferedException extends AgentException {
    private static final long serialVersionUID = 1L;

    private final String feature;

    public FeatureNotOfferedException(String feature, String message) {
        super(message);
        this.feature = feature;
    }

    /** The core.ready feature that was missing (e.g. "profile", "sessions"). */
    public String feature() {
        return feature;
    }

    /** {@link #forCaller}'s copy of {@code recorded}. */
    private FeatureNotOfferedException(FeatureNotOfferedException recorded) {
        super(recorded.getMessage(), recorded);
        this.feature = recorded.feature;
    }

    @Override
    public FeatureNotOfferedException forCaller() {
        return new FeatureNotOfferedException(this);
    }
}
