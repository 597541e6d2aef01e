package io.agentd.agent.transport;

import io.agentd.agent.loop.ByteBudget;

/**
 * The bytes of large incoming frames (over {@link #SMALL_FRAME_BYTES}) that the agent holds at once,
 * over every host link. A frame decoder takes a frame's whole length as soon as it sees its header
 * (and keeps the array for the next frame of that size), so without a shared bound N connections
 * could each make the agent hold two frames of {@link io.agentd.protocol.Protocol#MAX_FRAME_LEN}:
 * 8 MiB a connection, past the heap with a few dozen hosts. A link reserves a large frame's length
 * here before the decoder sees any of it ({@link FrameAdmission}); when the budget is spent the link
 * stops reading until a reservation is released, and its host waits. A link holding a reservation
 * can always finish its frame, so waiting never deadlocks. Loop thread only.
 */
public final class LargeFrameBudget extends ByteBudget {
    /**
     * Frames up to this size need no reservation: the client's stdin chunks (64 KiB of data) and
     * every control frame. What a link holds of them is bounded per link.
     */
    public static final int SMALL_FRAME_BYTES = 128 * 1024;
    /** The default: eight frames of the largest size in flight at once, over all hosts. */
    public static final long DEFAULT_BYTES = 32L << 20;

    /** @param limit bytes; at least one frame of the largest size must fit */
    public LargeFrameBudget(long limit) {
        super(checked(limit));
    }

    private static long checked(long limit) {
        if (limit < io.agentd.protocol.Protocol.MAX_FRAME_LEN) {
            throw new IllegalArgumentException("a large-frame budget under one largest frame: " + limit);
        }
        return limit;
    }
}
