package io.agentd.protocol;

/** Constants of the wire format (PROTOCOL.md). */
public final class Protocol {
    /** The protocol generation this agent speaks and writes in `v`. */
    public static final int GENERATION = 7;
    /** Bytes of the length prefix. */
    public static final int LENGTH_BYTES = 4;
    /** id (4) + flags (1): the smallest legal value of the length prefix. */
    public static final int MIN_FRAME_LEN = 5;
    /** The largest legal value of the length prefix (4 MiB). */
    public static final int MAX_FRAME_LEN = 4 * 1024 * 1024;
    /** id 0 is the control channel (ready, shutdown, clock.sync). */
    public static final int CONTROL_ID = 0;

    private Protocol() {}
}
