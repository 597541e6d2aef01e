package io.agentd.agent;

import java.util.function.LongPredicate;

/**
 * The ids of a connection whose owner is gone: every id (the connection's host left) or the range a
 * relay client held ({@code core.relay.client.disconnected}).
 *
 * @param start        the first id of the range (ignored for every id)
 * @param endExclusive the id past the range (ignored for every id)
 * @param everyId      the whole connection
 */
public record OwnedIds(long start, long endExclusive, boolean everyId) implements LongPredicate {
    /** Every id of the connection. */
    public static final OwnedIds ALL = new OwnedIds(0, 0, true);

    /** The ids {@code [start, endExclusive)}. */
    public static OwnedIds range(long start, long endExclusive) {
        return new OwnedIds(start, endExclusive, false);
    }

    @Override
    public boolean test(long id) {
        return everyId || (id >= start && id < endExclusive);
    }

    @Override
    public String toString() {
        return everyId ? "every id" : "ids [" + start + ", " + endExclusive + ")";
    }
}
