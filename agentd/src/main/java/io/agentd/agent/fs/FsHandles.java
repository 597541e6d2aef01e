package io.agentd.agent.fs;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongPredicate;

/**
 * The handles of one owner (a host connection), at most {@link #MAX_PER_OWNER}, as the reference
 * allows, and while all owners together stay within the agent's {@link FsHandleBudget}. Numbers start at 1 and are never reused within the owner's life, so a stale number never
 * names a newer handle. Thread-safe: workers open and close, the loop thread closes an id range.
 */
final class FsHandles {
    static final int MAX_PER_OWNER = 1024;

    private final Map<Long, FsHandle> open = new ConcurrentHashMap<>();
    private final AtomicLong next = new AtomicLong(1);
    private final FsHandleBudget budget;

    FsHandles(FsHandleBudget budget) {
        this.budget = budget;
    }

    long nextNumber() {
        return next.getAndIncrement();
    }

    /** Adds an opened handle, or refuses it (EMFILE) past either limit: the caller then closes it. */
    synchronized void add(FsHandle h) throws FsFailure {
        if (open.size() >= MAX_PER_OWNER) {
            throw new FsFailure(24, "too many open handles: " + MAX_PER_OWNER
                    + " per connection (os error 24)");
        }
        if (!budget.tryTake()) {
            throw new FsFailure(24, "too many open handles: " + budget.max() + " over all connections, half the"
                    + " agent's open-file limit; close some, here or on another connection (os error 24)");
        }
        open.put(h.handle, h);
    }

    /** The open handle {@code number}, or the reference's "bad handle" failure. */
    FsHandle get(long number) throws FsFailure {
        FsHandle h = open.get(number);
        if (h == null || h.isClosed()) {
            throw new FsFailure(FsFailure.EBADF, "bad handle " + Long.toUnsignedString(number) + " (os error 9)");
        }
        return h;
    }

    /** Takes a handle out of the table (CloseHandle); the caller closes it. */
    FsHandle remove(long number) throws FsFailure {
        FsHandle h = open.remove(number);
        if (h == null) {
            throw new FsFailure(FsFailure.EBADF, "bad handle " + Long.toUnsignedString(number) + " (os error 9)");
        }
        budget.giveBack(1);
        return h;
    }

    /** Takes out every handle opened by an id {@code opener} matches (the owner gone: all of them). */
    List<FsHandle> removeOpenedBy(LongPredicate opener) {
        List<FsHandle> removed = new ArrayList<>();
        open.values().removeIf(h -> {
            if (opener.test(h.openedBy)) {
                removed.add(h);
                return true;
            }
            return false;
        });
        budget.giveBack(removed.size());
        return removed;
    }

    int size() {
        return open.size();
    }
}
