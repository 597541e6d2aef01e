package io.agentd.agent.transport;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

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
public final class LargeFrameBudget {
    /**
     * Frames up to this size need no reservation: the client's stdin chunks (64 KiB of data) and
     * every control frame. What a link holds of them is bounded per link.
     */
    public static final int SMALL_FRAME_BYTES = 128 * 1024;
    /** The default: eight frames of the largest size in flight at once, over all hosts. */
    public static final long DEFAULT_BYTES = 32L << 20;

    private final long limit;
    private long reserved;
    private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();

    /** @param limit bytes; at least one frame of the largest size must fit */
    public LargeFrameBudget(long limit) {
        if (limit < io.agentd.protocol.Protocol.MAX_FRAME_LEN) {
            throw new IllegalArgumentException("a large-frame budget under one largest frame: " + limit);
        }
        this.limit = limit;
    }

    /** Reserves {@code bytes} if they fit; false when the budget is spent. */
    boolean tryReserve(long bytes) {
        if (reserved + bytes > limit) {
            return false;
        }
        reserved += bytes;
        return true;
    }

    /** Gives {@code bytes} back; every link waiting for room tries again, in the order they came. */
    void release(long bytes) {
        reserved -= bytes;
        if (bytes > 0 && !waiting.isEmpty()) {
            List<Runnable> retry = new ArrayList<>(waiting);
            waiting.clear();
            retry.forEach(Runnable::run);
        }
    }

    /** {@code retry} runs once some room was released. */
    void await(Runnable retry) {
        waiting.add(retry);
    }

    /** The link went away: it waits no more. */
    void cancel(Runnable retry) {
        waiting.remove(retry);
    }

    long reserved() {
        return reserved;
    }

    int waiting() {
        return waiting.size();
    }
}
