package io.agentd.agent.session.retain;

import java.util.ArrayList;
import java.util.List;

/**
 * The agent-wide account of kept session output: every {@link OutputRing} is made and fed here, so
 * that all of them together are charged at most the total cap (--session-buffer-total), each holding
 * at most the per-session cap (--session-buffer). A ring is charged what it allocates ({@link
 * OutputRing#charge}: its 4 KiB chunks whole, not only the bytes in them), so the total bounds the
 * memory kept output takes however many sessions keep a little. When a record would pass the total,
 * the oldest bytes of the ring charged the most go first (the record's own ring included), so one
 * noisy session cannot starve the others of their last output. Loop thread only.
 */
public final class OutputRetention {
    private final long perSession;
    private final long total;
    private final List<OutputRing> rings = new ArrayList<>();
    /** The sum of the open rings' {@link OutputRing#held}. */
    private long held;
    /** The sum of the open rings' {@link OutputRing#charge}, kept within {@link #total}. */
    private long charged;

    /**
     * @param perSession most one session's ring holds
     * @param total      most all rings together are charged (at least perSession)
     */
    public OutputRetention(long perSession, long total) {
        if (perSession < OutputRing.MIN_CAP || total < perSession) {
            throw new IllegalArgumentException("session buffer " + perSession + " / total " + total
                    + ": the per-session cap must be at least " + OutputRing.MIN_CAP + " and at most the total");
        }
        this.perSession = perSession;
        this.total = total;
    }

    /** A new ring, counted here, whose first byte will be output offset {@code startOffset}. */
    public OutputRing open(long startOffset) {
        OutputRing ring = new OutputRing(perSession, startOffset);
        rings.add(ring);
        charged += ring.charge();
        return ring;
    }

    /** Records output into {@code ring} (one of this account's), then keeps the total within its cap. */
    public void record(OutputRing ring, int stream, byte[] src, int off, int len) {
        long chargedBefore = ring.charge();
        held += ring.append(stream, src, off, len);
        charged += ring.charge() - chargedBefore;
        while (charged > total) {
            OutputRing fullest = fullest();
            if (fullest == null) {
                return; // what is left is empty rings' tables, a few words each
            }
            // At least a chunk's worth: bytes dropped inside a chunk free nothing until it is empty.
            long drop = Math.min(Math.max(charged - total, OutputRing.CHUNK), fullest.held());
            chargedBefore = fullest.charge();
            held -= fullest.dropOldest(drop);
            charged -= chargedBefore - fullest.charge();
        }
    }

    /** The ring's session is gone: its memory goes back to the total. */
    public void close(OutputRing ring) {
        if (rings.remove(ring)) {
            charged -= ring.charge();
            held -= ring.clear();
        }
    }

    /** What all open rings hold together. */
    public long held() {
        return held;
    }

    /** What all open rings are charged together: at most {@link #total} once a record returns, but for empty rings' tables. */
    public long charged() {
        return charged;
    }

    /** What the open rings allocate together: at most {@link #charged}. */
    public long allocated() {
        long sum = 0;
        for (OutputRing r : rings) {
            sum += r.allocated();
        }
        return sum;
    }

    public long perSession() {
        return perSession;
    }

    public long total() {
        return total;
    }

    public int rings() {
        return rings.size();
    }

    /** The ring charged the most among those holding anything, or null when none does. */
    private OutputRing fullest() {
        OutputRing fullest = null;
        for (OutputRing r : rings) {
            if (r.held() > 0 && (fullest == null || r.charge() > fullest.charge())) {
                fullest = r;
            }
        }
        return fullest;
    }
}
