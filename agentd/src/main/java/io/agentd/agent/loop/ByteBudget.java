package io.agentd.agent.loop;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Bytes that many holders together may reserve at once (the agent's shared memory bounds: large
 * incoming frames, fs Read buffers, fs Write data). A holder that finds no room asks to be told
 * ({@link #await}); every release tells each waiting holder once, in the order they came, and each
 * tries again. A holder that has room always gives it back, so waiting never deadlocks as long as
 * every reservation ends. Loop thread only.
 */
public class ByteBudget {
    private final long limit;
    private long reserved;
    private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();

    public ByteBudget(long limit) {
        this.limit = limit;
    }

    /** Reserves {@code bytes} if they fit; false (nothing reserved) when they do not. */
    public boolean tryReserve(long bytes) {
        if (reserved + bytes > limit) {
            return false;
        }
        reserved += bytes;
        return true;
    }

    /** Reserves as much of {@code bytes} as fits; returns how much (0 when the budget is spent). */
    public long reserveUpTo(long bytes) {
        long room = Math.min(bytes, limit - reserved);
        if (room <= 0) {
            return 0;
        }
        reserved += room;
        return room;
    }

    /** Gives {@code bytes} back; every holder waiting for room tries again, in the order they came. */
    public void release(long bytes) {
        reserved -= bytes;
        if (bytes > 0 && !waiting.isEmpty()) {
            List<Runnable> retry = new ArrayList<>(waiting);
            waiting.clear();
            retry.forEach(Runnable::run);
        }
    }

    /** {@code retry} runs once some room was released. */
    public void await(Runnable retry) {
        waiting.add(retry);
    }

    /** The holder went away: it waits no more. */
    public void cancel(Runnable retry) {
        waiting.remove(retry);
    }

    public long limit() {
        return limit;
    }

    public long reserved() {
        return reserved;
    }

    public int waiting() {
        return waiting.size();
    }
}
