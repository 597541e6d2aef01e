package io.agentd.agent.transport;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongPredicate;

/**
 * The id ranges of a connection whose output the relay in front of it asked the agent to hold
 * (core.relay.client.paused: that client does not read): sessions with an id in one do not read
 * their output and fs Reads on one stop, until core.relay.client.resumed or the client's departure
 * releases it. Held output waits in the processes' pipes, as under the link's own backpressure, so
 * the relay need not stop reading the port for everyone. At most {@link #MAX_RANGES} (a relay has
 * 128 clients): a relay that asks for more is refused, and the ranges it holds stay as they are.
 * Loop thread only.
 */
public final class HeldIds implements LongPredicate {
    public static final int MAX_RANGES = 128;

    /** [start, endExclusive) pairs; a list, since a relay holds a handful at most. */
    private final List<long[]> ranges = new ArrayList<>();

    /** Holds {@code [start, endExclusive)}; false when it is not held and {@link #MAX_RANGES} already are. */
    public boolean hold(long start, long endExclusive) {
        if (indexOf(start, endExclusive) >= 0) {
            return true;
        }
        if (ranges.size() >= MAX_RANGES) {
            return false;
        }
        ranges.add(new long[] {start, endExclusive});
        return true;
    }

    /** Releases exactly that range; false when it was not held (a late or repeated resume: nothing to do). */
    public boolean release(long start, long endExclusive) {
        int i = indexOf(start, endExclusive);
        if (i < 0) {
            return false;
        }
        ranges.remove(i);
        return true;
    }

    /** The owner of ids in {@code [start, endExclusive)} left: every range touching them is released. */
    public boolean releaseOverlapping(long start, long endExclusive) {
        return ranges.removeIf(r -> r[0] < endExclusive && start < r[1]);
    }

    /** The host went away: nothing is held any more; true when something was. */
    public boolean releaseAll() {
        boolean any = !ranges.isEmpty();
        ranges.clear();
        return any;
    }

    /** Whether the output of id is held. */
    @Override
    public boolean test(long id) {
        for (long[] r : ranges) {
            if (id >= r[0] && id < r[1]) {
                return true;
            }
        }
        return false;
    }

    public int size() {
        return ranges.size();
    }

    private int indexOf(long start, long endExclusive) {
        for (int i = 0; i < ranges.size(); i++) {
            if (ranges.get(i)[0] == start && ranges.get(i)[1] == endExclusive) {
                return i;
            }
        }
        return -1;
    }
}
