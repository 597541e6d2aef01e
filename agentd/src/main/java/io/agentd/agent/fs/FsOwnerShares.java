package io.agentd.agent.fs;

import io.agentd.agent.loop.ByteBudget;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Each owner's share of the agent-wide Read and Write budgets ({@link FsOwners}: the connection, or
 * behind a relay each client): its Reads' buffers and its windowed Writes' credit come from it. Per
 * owner, not per connection: one relay client whose Reads were paused (it read nothing, so the relay
 * held its ids) kept the connection's whole share, and every other client's Reads, down to a 6-byte
 * file, waited for it. Loop thread only.
 */
final class FsOwnerShares {
    private final FsBuffers buffers;
    /**
     * This connection's part of the agent-wide Read and Write budgets, which every owner's share
     * reserves from: however many relay clients it serves, a connection holds its part and no more
     * (each client's share alone let a host that named 16 id ranges hold the agent's whole budget,
     * and every other connection's uploads and downloads waited).
     */
    private final ByteBudget connectionReads;
    private final ByteBudget connectionWrites;
    private final Map<Long, FsReadShare> readShares = new HashMap<>();
    private final Map<Long, FsWriteShare> writeShares = new HashMap<>();

    FsOwnerShares(FsBuffers buffers) {
        this.buffers = buffers;
        this.connectionReads = ByteBudget.shareOf(buffers.reads(), buffers.readShare());
        this.connectionWrites = ByteBudget.shareOf(buffers.writes(), buffers.writeShare());
    }

    /**
     * The Read share of {@code owner}: the connection's share for the connection itself, a
     * {@link FsRequestsInProgress#RELAY_CLIENT_PART}th of it for each relay client (as with requests
     * in progress), all within the agent-wide budget.
     */
    FsReadShare readShare(long owner) {
        return readShares.computeIfAbsent(owner, o -> new FsReadShare(connectionReads,
                ownerPart(o, buffers.readShare())));
    }

    /** The Write share of {@code owner}, as {@link #readShare}. */
    FsWriteShare writeShare(long owner) {
        return writeShares.computeIfAbsent(owner, o -> new FsWriteShare(connectionWrites,
                ownerPart(o, buffers.writeShare())));
    }

    /**
     * The connection's host is gone ({@link FsService#onOwnerGone}): whoever comes next (on a port)
     * gets shares made anew. Kept, they grew by one pair for each id range each host named, for as
     * long as the port served (a review: 200 hosts of 1024 ranges each left 204,800 Write shares,
     * 45 MiB). A request stopped with its host gives what it holds back to the share it holds,
     * which gives it back to the connection's part.
     */
    void forget() {
        readShares.clear();
        writeShares.clear();
    }

    /** Owners with a share now (tests). */
    int owners() {
        Set<Long> owners = new HashSet<>(readShares.keySet());
        owners.addAll(writeShares.keySet());
        return owners.size();
    }

    private static long ownerPart(long owner, long connectionShare) {
        return owner == FsOwners.CONNECTION ? connectionShare
                : Math.max(1, connectionShare / FsRequestsInProgress.RELAY_CLIENT_PART);
    }
}
