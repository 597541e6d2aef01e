package io.agentd.client;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Utf8Text;
import io.agentd.protocol.payload.ErrorPayload;

/** core.error: the agent refused a frame of this call or session. */
public final class AgentErrorException extends AgentException {
    private static final long serialVersionUID = 1L;

    private final String kindWire;
    private final String offendingType;

    /**
     * The most of an agent's text an error keeps, in UTF-8 bytes. A session keeps up to 128 errors
     * for its life, and a frame's field may be 4 MiB: kept whole, a buggy or hostile agent's errors
     * held most of a GiB per session. Kinds and frame types are a few dozen bytes.
     */
    static final int TEXT_MAX_BYTES = 1024;

    public AgentErrorException(ErrorPayload error) {
        this(bounded(error.kind()), error.message() == null ? null : bounded(error.message()),
                error.offendingType() == null ? null : bounded(error.offendingType()));
    }

    private AgentErrorException(String kindWire, String message, String offendingType) {
        super("agent refused " + (offendingType != null ? offendingType : "a frame") + ": " + kindWire
                + (message != null ? ": " + message : ""));
        this.kindWire = kindWire;
        this.offendingType = offendingType;
    }

    /** {@code text}, or its first {@link #TEXT_MAX_BYTES} and how long it was. */
    static String bounded(String text) {
        return Utf8Text.cut(text, TEXT_MAX_BYTES);
    }

    /** The error kind, or null for a kind this client does not know (see {@link #kindWire}). */
    public ErrorKind kind() {
        for (ErrorKind k : ErrorKind.values()) {
            if (k.wire().equals(kindWire)) {
                return k;
            }
        }
        return null;
    }

    /** The kind exactly as the agent sent it. */
    public String kindWire() {
        return kindWire;
    }

    /** The `t` of the refused frame, or null when the agent could not read it. */
    public String offendingType() {
        return offendingType;
    }

    /** {@link #forCaller}'s copy of {@code recorded}. */
    private AgentErrorException(AgentErrorException recorded) {
        super(recorded.getMessage(), recorded);
        this.kindWire = recorded.kindWire;
        this.offendingType = recorded.offendingType;
    }

    @Override
    public AgentErrorException forCaller() {
        return new AgentErrorException(this);
    }
}
