package io.agentd.client;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Utf8Text;
import io.agentd.protocol.payload.ErrorPayload;
import java.nio.charset.StandardCharsets;

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
        super("agent refused " + (error.offendingType() != null ? bounded(error.offendingType()) : "a frame")
                + ": " + bounded(error.kind()) + (error.message() != null ? ": " + bounded(error.message()) : ""));
        this.kindWire = bounded(error.kind());
        this.offendingType = error.offendingType() == null ? null : bounded(error.offendingType());
    }

    /** {@code text}, or its first {@link #TEXT_MAX_BYTES} and how long it was. */
    static String bounded(String text) {
        String kept = Utf8Text.prefix(text, TEXT_MAX_BYTES);
        return kept.length() == text.length() ? text
                : kept + "… (" + text.getBytes(StandardCharsets.UTF_8).length + " bytes)";
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
}
