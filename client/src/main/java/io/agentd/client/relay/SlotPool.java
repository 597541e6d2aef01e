package io.agentd.client.relay;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The slots no client holds: free ones, least recently freed first (a slot's ids go to a new client
 * as late as possible), and leaving ones, whose client is gone but whose departure the agent has not
 * yet confirmed. A leaving slot goes to nobody: the agent may still be sending output of the old
 * client's sessions (on a port the default host-loss policy keeps them running), and until it has
 * processed the departure notice that output would reach whoever held the ids next.
 *
 * <p>The confirmation is the answer to a core.ping the relay sends right after the notice, on the
 * slot's {@link #probeId}: the agent handles a connection's frames in order, so everything it sent
 * for the range before it took the notice comes before that pong. Selector thread only.
 */
final class SlotPool {
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final boolean[] leaving = new boolean[IdRange.SLOTS];
    private int leavingCount;

    SlotPool() {
        for (int k = 0; k < IdRange.SLOTS; k++) {
            free.add(k);
        }
    }

    /** A free slot for a new client, or null when none is. */
    Integer take() {
        return free.poll();
    }

    /** {@code slot}'s client is gone: the slot is nobody's until {@link #confirmed}. */
    void leave(int slot) {
        leaving[slot] = true;
        leavingCount++;
    }

    /** The agent answered {@code slot}'s probe: free now. False when it was not leaving (a late or repeated answer). */
    boolean confirmed(int slot) {
        if (!leaving[slot]) {
            return false;
        }
        leaving[slot] = false;
        leavingCount--;
        free.add(slot);
        return true;
    }

    boolean isLeaving(int slot) {
        return leaving[slot];
    }

    int leavingCount() {
        return leavingCount;
    }

    /** The slots whose departure is unconfirmed, lowest first. */
    List<Integer> leavingSlots() {
        List<Integer> slots = new ArrayList<>(leavingCount);
        for (int k = 0; k < IdRange.SLOTS; k++) {
            if (leaving[k]) {
                slots.add(k);
            }
        }
        return slots;
    }

    /**
     * The id of the ping that confirms {@code slot}'s departure: the unused id right after its range
     * ({@code (slot+1) * SPAN}), in no client's range, distinct per slot (so an answer names the slot
     * whatever else is in flight) and never {@link RelayLoop#PROBE_ID} (which is {@code 128 * SPAN + 127}).
     */
    static long probeId(int slot) {
        return IdRange.slot(slot).endExclusive();
    }

    /** The slot whose {@link #probeId} {@code id} is, or -1. */
    static int slotOfProbe(long id) {
        if (id == 0 || id % IdRange.SPAN != 0) {
            return -1;
        }
        long slot = id / IdRange.SPAN - 1;
        return slot < IdRange.SLOTS ? (int) slot : -1;
    }
}
