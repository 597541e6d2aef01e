package io.agentd.agent.transport;

import io.agentd.protocol.payload.RelayClientRange;
import java.util.ArrayList;
import java.util.List;
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
    public static final int MAX_RANGES = 1024;

    /** The ranges as the notices named them; usually none, a handful while some clients do not read. */
    private final List<RelayClientRange> ranges = new ArrayList<>();

    /** Holds {@code range}; false when it is not held and {@link #MAX_RANGES} already are. */
    public boolean hold(RelayClientRange range) {
        if (ranges.contains(range)) {
            return true;
        }
        if (ranges.size() >= MAX_RANGES) {
            return false;
        }
        ranges.add(range);
        return true;
    }

    /** Releases exactly that range; false when it was not held (a late or repeated resume: nothing to do). */
    public boolean release(RelayClientRange range) {
        return ranges.remove(range);
    }

    /** The owner of the ids in {@code gone} left: every range touching them is released. */
    public boolean releaseOverlapping(RelayClientRange gone) {
        return ranges.removeIf(r -> r.idStart() < gone.idEndExclusive() && gone.idStart() < r.idEndExclusive());
    }

    /** The host went away: nothing is held any more; true when something was. */
    public boolean releaseAll() {
        boolean any = !ranges.isEmpty();
        ranges.clear();
        return any;
    }

    /**
     * Whether the output of id is held. A scan of the held ranges, which is fine: there is nothing to
     * scan while none is held (the common case), and a full scan of {@link #MAX_RANGES} takes about
     * half a microsecond (measured), next to the pipe read and frame write a session makes per call.
     */
    @Override
    public boolean test(long id) {
        for (RelayClientRange r : ranges) {
            if (r.covers(id)) {
                return true;
            }
        }
        return false;
    }

    public int size() {
        return ranges.size();
    }
}
