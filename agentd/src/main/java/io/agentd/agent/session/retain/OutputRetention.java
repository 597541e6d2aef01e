package io.agentd.agent.session.retain;

import java.util.ArrayList;
import java.util.List;

/**
 * The agent-wide account of kept session output: every {@link OutputRing} is made and fed here, so
 * that all of them together hold at most the total cap (--session-buffer-total), each at most the
 * per-session cap (--session-buffer). When a record would pass the total, the oldest bytes of the
 * ring holding the most go first (the record's own ring included), so one noisy session cannot
 * starve the others of their last output. Loop thread only.
 */
public final class OutputRetention {
    private final long perSession;
    private final long total;
    private final List<OutputRing> rings = new ArrayList<>();
    private long held;

    /**
     * @param perSession most one session's ring holds
     * @param total      most all rings together hold (at least perSession)
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
        return ring;
    }

    /** Records output into {@code ring} (one of this account's), then keeps the total within its cap. */
    public void record(OutputRing ring, int stream, byte[] src, int off, int len) {
        held += ring.append(stream, src, off, len);
        while (held > total) {
            OutputRing fullest = fullest();
            held -= fullest.dropOldest(Math.min(held - total, fullest.held()));
        }
    }

    /** The ring's session is gone: its memory goes back to the total. */
    public void close(OutputRing ring) {
        if (rings.remove(ring)) {
            held -= ring.clear();
        }
    }

    /** What all open rings hold together. */
    public long held() {
        return held;
    }

    /**
     * What the open rings allocate together: at most {@link #held} plus, per ring, two chunks of
     * {@link OutputRing#CHUNK}, its chunk table and the slack of its runs (see {@link OutputRing}).
     */
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

    private OutputRing fullest() {
        OutputRing fullest = rings.get(0);
        for (OutputRing r : rings) {
            if (r.held() > fullest.held()) {
                fullest = r;
            }
        }
        return fullest;
    }
}
