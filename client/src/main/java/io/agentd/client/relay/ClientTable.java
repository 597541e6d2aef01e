package io.agentd.client.relay;

/**
 * The clients by slot, and how many there are: the table the relay's parts read (where an agent's
 * frame goes, who is told a new agent's core.ready, whose queue holds everyone up), which only a
 * client's admission and its drop change ({@link #add}, {@link #remove}). Selector thread only, save
 * {@link #count}.
 */
final class ClientTable {
    private final RelayClient[] bySlot = new RelayClient[IdRange.SLOTS];
    private volatile int count;

    /** The client holding {@code slot}, or null (the slot is free, or leaving). */
    RelayClient at(int slot) {
        return bySlot[slot];
    }

    /** From any thread: the clients connected now. */
    int count() {
        return count;
    }

    /** {@code c} was admitted to its slot. */
    void add(RelayClient c) {
        bySlot[c.slot] = c;
        count++;
    }

    /** {@code c} is gone: its slot holds nobody (it is leaving: see {@link SlotPool}). */
    void remove(RelayClient c) {
        bySlot[c.slot] = null;
        count--;
    }

    /** The client whose range holds {@code id}, or null (a free or leaving slot, or an id between ranges). */
    RelayClient ownerOf(long id) {
        int k = slotOf(id);
        if (k < 0) {
            return null;
        }
        RelayClient c = bySlot[k];
        return c != null && c.range.contains(id) ? c : null;
    }

    /** The slot whose range holds {@code id}, or -1 (id 0, an id between ranges, or past the last). */
    static int slotOf(long id) {
        if (id <= 0 || id % IdRange.SPAN == 0) {
            return -1; // slot k holds [k*SPAN+1, k*SPAN+SPAN): every id but the multiples of SPAN
        }
        long k = id / IdRange.SPAN;
        return k < IdRange.SLOTS ? (int) k : -1;
    }

    /** The relay ends: every client's connection is closed (each sees it end), and the table is empty. */
    void closeAll() {
        for (int slot = 0; slot < bySlot.length; slot++) {
            if (bySlot[slot] != null) {
                bySlot[slot].closeConnection();
                bySlot[slot] = null;
            }
        }
        count = 0;
    }
}
