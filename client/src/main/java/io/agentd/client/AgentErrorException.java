package io.agentd.client;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.payload.ErrorPayload;

/** core.error: the agent refused a frame of this call or session. */
public final class AgentErrorException extends AgentException {
    private static final long serialVersionUID = 1L;

    private final String kindWire;
    private final String offendingType;

    public AgentErrorException(ErrorPayload error) {
        super("agent refused " + (error.offendingType() != null ? error.offendingType() : "a frame")
                + ": " + error.kind() + (error.message() != null ? ": " + error.message() : ""));
        this.kindWire = error.kind();
        this.offendingType = error.offendingType();
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
