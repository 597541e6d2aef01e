package io.agentd.agent.fs;

import java.util.Map;
import java.util.TreeMap;

/**
 * Who owns an id on one connection, for its fs handles (PROTOCOL.md: handles belong to the host
 * connection, or relay client, that opened them): the connection itself, or behind a relay the
 * client whose id range holds it. The ranges are the ones the relay's core.relay.client.disconnected
 * notices named (each names a client's whole range; agentctl's relay names all 128 when it starts;
 * the flow notices may name part of one, so they are not taken); an id in no range named is the
 * connection's. They are forgotten when the connection's host goes ({@link #forget}: on a port,
 * whoever comes next may be no relay). Written on the loop thread, read by the workers: each change
 * publishes a new map.
 */
final class FsOwners {
    /** The owner of ids in no range named: the connection. Range owners are their start, never 0. */
    static final long CONNECTION = 0;
    /** The most ranges kept: a relay has 128 clients; a host's notices cannot grow this without bound. */
    static final int MAX_RANGES = 1024;

    /** Start to end (exclusive) of each range named, none overlapping another. */
    private volatile TreeMap<Long, Long> ranges = new TreeMap<>();

    /**
     * A relay notice named {@code [start, endExclusive)}. A range overlapping one named before with
     * other bounds is ignored (the first one stands): an owner's handles never change owner.
     */
    void rangeNamed(long start, long endExclusive) {
        TreeMap<Long, Long> now = ranges;
        if (start <= CONNECTION || endExclusive <= start || now.size() >= MAX_RANGES) {
            return;
        }
        Map.Entry<Long, Long> below = now.floorEntry(endExclusive - 1);
        if (below != null && below.getValue() > start) {
            return; // known already, or overlapping a known one
        }
        TreeMap<Long, Long> next = new TreeMap<>(now);
        next.put(start, endExclusive);
        ranges = next;
    }

    /** The connection's host is gone: every id is the connection's again until a relay names ranges. */
    void forget() {
        ranges = new TreeMap<>();
    }

    /** The owner of {@code id}: its range's start, or {@link #CONNECTION}. */
    long ownerOf(long id) {
        Map.Entry<Long, Long> range = ranges.floorEntry(id);
        return range != null && id < range.getValue() ? range.getKey() : CONNECTION;
    }
}
