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
 *
 * <p>A budget may be a share of another ({@link #shareOf}): what is reserved from the share is
 * reserved from its parent too, so that the holders of many shares stay within both (one
 * connection's part of the agent's fs buffers, whichever of its relay clients holds them).
 */
public class ByteBudget {
    private final long limit;
    /** The budget this one is a share of; null at the top. */
    private final ByteBudget parent;
    private long reserved;
    private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();

    public ByteBudget(long limit) {
        this(limit, null);
    }

    private ByteBudget(long limit, ByteBudget parent) {
        this.limit = limit;
        this.parent = parent;
    }

    /**
     * A share of {@code parent} of {@code limit} bytes. A share that holds nothing takes one
     * reservation larger than its limit when its parent has room for it: a share smaller than one
     * chunk would otherwise stop its holder for good.
     */
    public static ByteBudget shareOf(ByteBudget parent, long limit) {
        return new ByteBudget(limit, parent);
    }

    /** Reserves {@code bytes} if they fit here and in every budget above; false (nothing reserved) when they do not. */
    public boolean tryReserve(long bytes) {
        if (!fits(bytes)) {
            return false;
        }
        add(bytes);
        return true;
    }

    /** Reserves as much of {@code bytes} as fits here and above; returns how much (0 when one of them is spent). */
    public long reserveUpTo(long bytes) {
        long room = Math.min(bytes, room());
        if (room <= 0) {
            return 0;
        }
        add(room);
        return room;
    }

    private boolean fits(long bytes) {
        boolean here = reserved + bytes <= limit || parent != null && reserved == 0;
        return here && (parent == null || parent.fits(bytes));
    }

    private long room() {
        long here = limit - reserved;
        return parent == null ? here : Math.min(here, parent.room());
    }

    private void add(long bytes) {
        for (ByteBudget b = this; b != null; b = b.parent) {
            b.reserved += bytes;
        }
    }

    /**
     * Gives {@code bytes} back, here and above; every holder waiting for room in any of them tries
     * again, in the order they came, those of this budget first. Every level's count moves before
     * anyone is told, so that a holder told here finds the room above too.
     */
    public void release(long bytes) {
        for (ByteBudget b = this; b != null; b = b.parent) {
            b.reserved -= bytes;
        }
        if (bytes <= 0) {
            return;
        }
        for (ByteBudget b = this; b != null; b = b.parent) {
            b.wakeWaiting();
        }
    }

    private void wakeWaiting() {
        if (!waiting.isEmpty()) {
            List<Runnable> retry = new ArrayList<>(waiting);
            waiting.clear();
            retry.forEach(Runnable::run);
        }
    }

    /**
     * {@code retry} runs once some room was released here or in a budget above (once for each of
     * them that releases first: a retry that got its room {@link #cancel}s the rest).
     */
    public void await(Runnable retry) {
        for (ByteBudget b = this; b != null; b = b.parent) {
            b.waiting.add(retry);
        }
    }

    /** The holder went away, or was told: it waits no more, here or above. */
    public void cancel(Runnable retry) {
        for (ByteBudget b = this; b != null; b = b.parent) {
            b.waiting.remove(retry);
        }
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
