package io.agentd.agent.fs;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongPredicate;

/**
 * The fs handles of one connection, by owner (the connection, or behind a relay each client: {@link
 * FsOwners}): a handle answers only its owner's requests (another's number is "bad handle", as one
 * never opened), and each owner has at most {@link #MAX_PER_OWNER} open, as the reference allows,
 * while all owners together stay within the agent's {@link FsHandleBudget}. Numbers start at 1 and
 * are never reused within the connection's life, so a stale number never names a newer handle.
 * Thread-safe: workers open and close, the loop thread closes an owner's.
 */
final class FsHandles {
    static final int MAX_PER_OWNER = 1024;

    private final Map<Long, FsHandle> open = new ConcurrentHashMap<>();
    /** Open handles per owner, each counted under the owner of its opener's id when it opened. */
    private final Map<Long, Integer> perOwner = new HashMap<>();
    /** Each open handle's number to the owner it is counted under (a relay's ranges may be named later). */
    private final Map<Long, Long> countedUnder = new HashMap<>();
    private final AtomicLong next = new AtomicLong(1);
    private final FsHandleBudget budget;
    private final FsOwners owners;

    FsHandles(FsHandleBudget budget, FsOwners owners) {
        this.budget = budget;
        this.owners = owners;
    }

    long nextNumber() {
        return next.getAndIncrement();
    }

    /** The descriptors the handles take from; a tree walk's open directories take from it too. */
    FsHandleBudget budget() {
        return budget;
    }

    /** Adds an opened handle, or refuses it (EMFILE) past either limit: the caller then closes it. */
    synchronized void add(FsHandle h) throws FsFailure {
        long owner = owners.ownerOf(h.openedBy);
        if (perOwner.getOrDefault(owner, 0) >= MAX_PER_OWNER) {
            throw new FsFailure(24, "too many open handles: " + MAX_PER_OWNER
                    + " per connection or relay client (os error 24)");
        }
        if (!budget.tryTake(h.descriptors())) {
            throw new FsFailure(24, "too many open handles: " + budget.max() + " over all connections, half the"
                    + " agent's open-file limit; close some, here or on another connection (os error 24)");
        }
        open.put(h.handle, h);
        perOwner.merge(owner, 1, Integer::sum);
        countedUnder.put(h.handle, owner);
    }

    /** The open handle {@code number} of the owner of {@code requester}, or the reference's "bad handle" failure. */
    FsHandle get(long number, long requester) throws FsFailure {
        FsHandle h = open.get(number);
        if (h == null || h.isClosed() || !ownedBy(h, requester)) {
            throw badHandle(number);
        }
        return h;
    }

    /** Takes a handle of {@code requester}'s owner out of the table (CloseHandle); the caller closes it. */
    synchronized FsHandle remove(long number, long requester) throws FsFailure {
        FsHandle h = removeUnclosed(number, requester);
        if (h == null) {
            throw badHandle(number);
        }
        budget.giveBack(h.descriptors());
        return h;
    }

    private boolean ownedBy(FsHandle h, long requester) {
        return owners.ownerOf(h.openedBy) == owners.ownerOf(requester);
    }

    private static FsFailure badHandle(long number) {
        return new FsFailure(FsFailure.EBADF, "bad handle " + Long.toUnsignedString(number) + " (os error 9)");
    }

    private void forget(FsHandle h) {
        Long owner = countedUnder.remove(h.handle);
        if (owner != null) {
            perOwner.computeIfPresent(owner, (o, n) -> n > 1 ? n - 1 : null);
        }
    }

    /**
     * Takes out every handle opened by an id {@code opener} matches (the owner gone: all of them),
     * still counted in the agent's budget: the caller gives each back once it is closed
     * ({@link #closed}), so a close that waits (a hung mount) keeps its descriptor counted.
     */
    synchronized List<FsHandle> removeOpenedBy(LongPredicate opener) {
        List<FsHandle> removed = new ArrayList<>();
        open.values().removeIf(h -> {
            if (opener.test(h.openedBy)) {
                removed.add(h);
                return true;
            }
            return false;
        });
        removed.forEach(this::forget);
        return removed;
    }

    /**
     * Takes a handle of {@code requester}'s owner out of the table, still counted in the budget, as
     * {@link #removeOpenedBy} does; null when it is not there (closed with its owner's already).
     */
    synchronized FsHandle removeUnclosed(long number, long requester) {
        FsHandle h = open.get(number);
        if (h == null || !ownedBy(h, requester)) {
            return null;
        }
        open.remove(number);
        forget(h);
        return h;
    }

    /** A handle taken out by {@link #removeOpenedBy} or {@link #removeUnclosed} is closed: its room in the budget comes back. */
    void closed(FsHandle h) {
        budget.giveBack(h.descriptors());
    }

    int size() {
        return open.size();
    }
}
