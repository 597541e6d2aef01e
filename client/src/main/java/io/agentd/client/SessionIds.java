package io.agentd.client;

import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongPredicate;

/**
 * Hands out the ids of sessions and calls from one range of u32 ids that excludes 0 (the control
 * channel): all of them for a direct agent, the client's own range behind a relay. Never an id still
 * live; ids go up and wrap to the range's start, so an id is reused only after all the others of the
 * range. Not thread-safe.
 *
 * <p>Each connection starts at a random id of its range. Over a virtio port the agent keeps a host's
 * sessions running after that host goes away (a killed agentctl, a VMM that reconnects), so ids
 * counted from 1 by every new connection collided with them: the next host's request was refused as
 * "session 1 is running", and the old session's output and exit would have gone to the new session
 * of that id. Behind a relay a freed slot goes to the next client the same way.
 */
final class SessionIds {
    /**
     * The largest id handed out: 2^32 - 2, not 2^32 - 1. Flow notices name ids by a range whose end
     * (exclusive) is a u32, so 2^32 - 1 is in no range: a session on it could not have its output
     * held, and the notice's encoding threw on the connection's reader thread, which ended the
     * connection with every session on it.
     */
    static final long MAX_ID = 0xFFFF_FFFEL;

    private final long lo;
    private final long hiExclusive;
    private long next;

    /** All u32 ids but 0 (and 2^32 - 1), from a random one. */
    SessionIds() {
        this(1 + ThreadLocalRandom.current().nextLong(MAX_ID));
    }

    /** All u32 ids but 0 (and 2^32 - 1), from {@code first} (tests start near the wrap). */
    SessionIds(long first) {
        this(first, 1, MAX_ID + 1);
    }

    /** The ids {@code [lo, hiExclusive)}, from {@code first}. */
    SessionIds(long first, long lo, long hiExclusive) {
        if (lo < 1 || hiExclusive <= lo || hiExclusive > MAX_ID + 1 || first < lo || first >= hiExclusive) {
            throw new IllegalArgumentException("ids [" + lo + ", " + hiExclusive + ") from " + first);
        }
        this.lo = lo;
        this.hiExclusive = hiExclusive;
        this.next = first;
    }

    /** The ids {@code [lo, hiExclusive)} (a relay's range), from a random one. */
    static SessionIds within(long lo, long hiExclusive) {
        return new SessionIds(lo + ThreadLocalRandom.current().nextLong(hiExclusive - lo), lo, hiExclusive);
    }

    /**
     * The next id that is not live.
     *
     * @throws IdsExhaustedException every id of the range is live (never a wrap out of the range)
     */
    long allocate(LongPredicate isLive) throws IdsExhaustedException {
        long id = next;
        for (long tried = 0; isLive.test(id); tried++) {
            if (tried >= hiExclusive - lo) {
                throw new IdsExhaustedException("all " + (hiExclusive - lo) + " ids of this connection, ["
                        + lo + ", " + hiExclusive + "), are in use by open sessions and calls");
            }
            id = after(id);
        }
        next = after(id);
        return id;
    }

    private long after(long id) {
        return id + 1 >= hiExclusive ? lo : id + 1;
    }
}
