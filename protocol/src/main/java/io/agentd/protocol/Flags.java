package io.agentd.protocol;

/** The bits of a frame's flags byte. The flags of a frame are fixed by its type. */
public final class Flags {
    /** Last frame of that id. */
    public static final int TERMINAL = 1;
    /** First frame of a session (exec.request). */
    public static final int SESSION_START = 2;
    /** core.shutdown. */
    public static final int SHUTDOWN = 4;

    private Flags() {}
}
