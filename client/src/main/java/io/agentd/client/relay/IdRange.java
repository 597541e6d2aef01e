package io.agentd.client.relay;

/**
 * The ids a relay gives one client: {@code [start, endExclusive)}, u32 values held in longs. The
 * reference layout (PROTOCOL.md, "Relay notice") cuts the ids into {@link #SLOTS} slots of
 * {@link #SPAN}: slot k owns {@code [k*SPAN+1, k*SPAN+SPAN)}. So no slot holds id 0 (the control
 * channel), the ids {@code k*SPAN} between slots, or those from {@code 128*SPAN} up.
 */
public record IdRange(long start, long endExclusive) {
    /** Clients a relay serves at once. */
    public static final int SLOTS = 128;
    /** 4294967295 / 128 (integer division): the ids of one slot and the unused id after them. */
    public static final long SPAN = 0xFFFF_FFFFL / SLOTS;

    public IdRange {
        if (start < 1 || endExclusive <= start || endExclusive > 0x1_0000_0000L) {
            throw new IllegalArgumentException("not a range of u32 ids without 0: [" + start + ", " + endExclusive + ")");
        }
    }

    /** The ids of slot {@code k} (0 .. {@link #SLOTS}-1). */
    public static IdRange slot(int k) {
        if (k < 0 || k >= SLOTS) {
            throw new IllegalArgumentException("slot " + k + " is not within 0.." + (SLOTS - 1));
        }
        return new IdRange(k * SPAN + 1, k * SPAN + SPAN);
    }

    public boolean contains(long id) {
        return id >= start && id < endExclusive;
    }

    /** How many ids the range holds. */
    public long size() {
        return endExclusive - start;
    }

    @Override
    public String toString() {
        return "[" + start + ", " + endExclusive + ")";
    }
}
