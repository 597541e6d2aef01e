package io.agentd.protocol;

/**
 * A frame the codec refused, typed by {@link ErrorKind}. Carries the frame's id and type where they
 * were read, so the agent can answer with core.error on that id.
 */
public final class ProtocolException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Marks an id that was never read (the length prefix was refused before it). */
    public static final long NO_ID = -1;

    private final ErrorKind kind;
    private final long id;
    private final String type;

    public ProtocolException(ErrorKind kind, long id, String type, String message) {
        this(kind, id, type, message, null);
    }

    /**
     * With the underlying parser failure as the cause, for the log. No stack trace: a refusal is
     * about the peer's bytes, not this code, and a peer sending garbage makes one per frame.
     */
    public ProtocolException(ErrorKind kind, long id, String type, String message, Throwable cause) {
        super(message, cause, true, false);
        this.kind = kind;
        this.id = id;
        this.type = type;
    }

    public ErrorKind kind() {
        return kind;
    }

    /** The frame's id (an unsigned 32-bit value), or {@link #NO_ID} when it was not read. */
    public long id() {
        return id;
    }

    /** True when the frame's id was read and can be answered on. */
    public boolean hasId() {
        return id != NO_ID;
    }

    /** The frame's `t` string where it was read (even an unknown one), else null. */
    public String type() {
        return type;
    }

    /** Same exception with the frame's id and type filled in (used while unwrapping layers). */
    public ProtocolException withFrame(long frameId, String frameType) {
        return new ProtocolException(kind, frameId, frameType, getMessage(), getCause());
    }
}
