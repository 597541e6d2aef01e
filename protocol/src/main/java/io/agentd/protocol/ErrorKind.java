package io.agentd.protocol;

/**
 * Why a frame was refused. The first six are the `kind` values of core.error; the others are the
 * codec's own, and a refusal the codec raises with one of them is answered with what
 * {@link #replyKind()} gives:
 * <ul>
 *   <li>The two frame-length kinds: the length prefix cannot be trusted, so there is no frame to
 *       answer on its id. The decoder skips the declared length; the agent logs it and, where it
 *       can, reports malformed_message on id 0.
 *   <li>{@link #LIMIT_EXCEEDED}: a core.exec.request over one of {@link ExecLimits}, refused while it
 *       was decoded, before its strings were built. The exception carries the frame's id and type,
 *       and a message that names the limit and its value (e.g. {@code args: 2000000 entries, more
 *       than the limit of 32768}), quoting request text only through {@link HostText#quote}. The
 *       agent answers it with {@code core.exec.failed} kind {@code bad_args} on that id, with that
 *       message as is (it has no type prefix): the request is well formed, only too large to run.
 *       Anywhere a core.error is sent instead, its kind is invalid_payload.
 * </ul>
 * {@link #LIMIT_EXCEEDED} is also the one kind of this project's own that a core.error carries on
 * the wire, and only in answer to frames of its extensions: a {@code core.relay.client.paused} past
 * the agent's 1024 held ranges, or past a relay client's 7 (docs/PROTOCOL-EXTENSIONS.md, "Where
 * PROTOCOL.md is silent"). A host that does not send those frames never sees it.
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

    /**
     * True for the kinds where the length prefix was refused: the decoder skips the declared length,
     * which finds the next frame only if the length was honest, so the stream may be out of sync.
     */
    public boolean losesStream() {
        return this == FRAME_TOO_LARGE || this == FRAME_TOO_SHORT;
    }

    /**
     * The kind to put in a core.error for this refusal: frame-length kinds map to malformed_message,
     * a request over a limit to invalid_payload.
     */
    public ErrorKind replyKind() {
        if (this == LIMIT_EXCEEDED) {
            return INVALID_PAYLOAD;
        }
        return losesStream() ? MALFORMED_MESSAGE : this;
    }

    @Override
    public String toString() {
        return wire;
    }
}
