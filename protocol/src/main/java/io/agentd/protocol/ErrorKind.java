package io.agentd.protocol;

/**
 * Why a frame was refused. The first six are the `kind` values of core.error; the two frame-length
 * kinds are the decoder's own (the length prefix cannot be trusted, so there is no frame to answer on
 * its id: the agent logs it, discards its input and, where it can, reports malformed_message on id 0).
 */
public enum ErrorKind {
    MALFORMED_MESSAGE("malformed_message"),
    UNSUPPORTED_MESSAGE_TYPE("unsupported_message_type"),
    UNSUPPORTED_PROTOCOL_GENERATION("unsupported_protocol_generation"),
    INVALID_FLAGS("invalid_flags"),
    INVALID_PAYLOAD("invalid_payload"),
    INVALID_SESSION("invalid_session"),
    FRAME_TOO_LARGE("frame_too_large"),
    FRAME_TOO_SHORT("frame_too_short"),
    LIMIT_EXCEEDED("limit_exceeded");

    private final String wire;

    ErrorKind(String wire) {
        this.wire = wire;
    }

    public String wire() {
        return wire;
    }

    /** True for the kinds where the length prefix was unusable and the input stream is out of sync. */
    public boolean losesStream() {
        return this == FRAME_TOO_LARGE || this == FRAME_TOO_SHORT;
    }

    /** The kind to put in a core.error for this refusal (frame-length kinds map to malformed_message). */
    public ErrorKind replyKind() {
        return losesStream() ? MALFORMED_MESSAGE : this;
    }

    @Override
    public String toString() {
        return wire;
    }
}
