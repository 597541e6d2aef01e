package io.agentd.agent.transport;

import io.agentd.protocol.payload.RelayClientRange;
import java.util.Arrays;
import java.util.function.LongPredicate;

/**
 * The id ranges of a connection whose output the relay in front of it asked the agent to hold
 * (core.relay.client.paused: that client does not read): sessions with an id in one do not read
 * their output and fs Reads on one stop, until core.relay.client.resumed or the client's departure
 * releases it. Held output waits in the processes' pipes, as under the link's own backpressure, so
 * the relay need not stop reading the port for everyone. Besides the relay's own notices, one per
 * client for its whole range, a client may hold single session ids of its own through the relay
 * (one whose output it does not read). At most {@link #MAX_RANGES}: a relay's 128 client ranges
 * and room for its clients' sessions; a notice past that is refused, and the ranges held stay as
 * they are. Loop thread only.
 */
public final class HeldIds implements LongPredicate {
    public static final int MAX_RANGES = RelayClientRange.MAX_HELD_PER_CONNECTION;

    /**
     * The ranges as the notices named them, {@code [starts[i], ends[i])} for i below {@link #count}:
     * two arrays of longs, which {@link #test} scans for every output read while anything is held.
     * Usually none; at most a handful of clients and sessions that do not read, so they start small
     * and grow (a connection that never holds anything costs two empty arrays).
     */
    private long[] starts = new long[0];
    private long[] ends = new long[0];
    private int count;

    /** Holds {@code range}; false when it is not held and {@link #MAX_RANGES} already are. */
    public boolean hold(RelayClientRange range) {
        if (indexOf(range) >= 0) {
            return true;
        }
        if (count >= MAX_RANGES) {
            return false;
        }
        if (count == starts.length) {
            int size = Math.min(MAX_RANGES, Math.max(8, 2 * count));
            starts = Arrays.copyOf(starts, size);
            ends = Arrays.copyOf(ends, size);
        }
        starts[count] = range.idStart();
        ends[count] = range.idEndExclusive();
        count++;
        return true;
    }

    /** Releases exactly that range; false when it was not held (a late or repeated resume: nothing to do). */
    public boolean release(RelayClientRange range) {
        int i = indexOf(range);
        if (i < 0) {
            return false;
        }
        removeAt(i);
        return true;
    }

    /** The owner of the ids in {@code gone} left: every range touching them is released. */
    public boolean releaseOverlapping(RelayClientRange gone) {
        int before = count;
        for (int i = count - 1; i >= 0; i--) {
            if (starts[i] < gone.idEndExclusive() && gone.idStart() < ends[i]) {
                removeAt(i);
            }
        }
        return count < before;
    }

    /** The host went away: nothing is held any more; true when something was. */
    public boolean releaseAll() {
        boolean any = count > 0;
        count = 0;
        return any;
    }

    /**
     * Whether the output of id is held. A scan of the held ranges: nothing to scan while none is
     * held (the common case), and a full one is small next to the pipe read and frame write a
     * session makes per call (BENCHMARKS.md, "Holding one session's output").
     */
    @Override
    public boolean test(long id) {
        for (int i = 0; i < count; i++) {
            if (id >= starts[i] && id < ends[i]) {
                return true;
            }
        }
        return false;
    }

    private int indexOf(RelayClientRange range) {
        for (int i = 0; i < count; i++) {
            if (starts[i] == range.idStart() && ends[i] == range.idEndExclusive()) {
                return i;
            }
        }
        return -1;
    }

    /** Order does not matter: the last range takes the place of the one removed. */
    private void removeAt(int i) {
        count--;
        starts[i] = starts[count];
        ends[i] = ends[count];
    }

    public int size() {
        return count;
    }
}
