package io.agentd.agent.fs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The fs handles all connections hold open together: at most half the agent's open-file limit, in
 * descriptors (an atomic upload's handle counts two: its temporary file and its directory; a
 * directory handle two: its own and its entries' stream's), and a tree walk's open directories
 * with them ({@link FsTreeLevel}).
 * Each connection may hold {@link FsHandles#MAX_PER_OWNER}, and {@code --max-connections} of them
 * (64 by default) could hold 65,536, as many descriptors as the guest gives the agent: hosts could
 * open files until no session could be spawned, no connection accepted and no log written. The
 * other half is left to those. Thread-safe: workers take, workers and the loop thread give back.
 */
final class FsHandleBudget {
    private static final Path LIMITS = Path.of("/proc/self/limits");

    private final int max;
    private final AtomicInteger held = new AtomicInteger();

    FsHandleBudget(int max) {
        this.max = max;
    }

    /** Half the soft open-file limit this process runs under; no cap of its own when it cannot be read. */
    static FsHandleBudget halfTheOpenFileLimit() {
        long soft;
        try {
            soft = softOpenFileLimit(Files.readString(LIMITS));
        } catch (IOException | RuntimeException e) {
            soft = -1;
        }
        return new FsHandleBudget(soft < 0 ? Integer.MAX_VALUE : (int) Math.min(Integer.MAX_VALUE, soft / 2));
    }

    /**
     * The soft limit on the "Max open files" line of a /proc/PID/limits text, or -1 when it is not
     * there or "unlimited".
     */
    static long softOpenFileLimit(String limits) {
        for (String line : limits.split("\n")) {
            if (line.startsWith("Max open files")) {
                String[] fields = line.substring("Max open files".length()).trim().split("\\s+");
                return fields[0].equals("unlimited") ? -1 : Long.parseLong(fields[0]);
            }
        }
        return -1;
    }

    /** Takes room for one handle; false when all connections together hold {@link #max} already. */
    boolean tryTake() {
        return tryTake(1);
    }

    /**
     * Takes room for a handle that holds {@code descriptors} descriptors (an atomic upload holds its
     * directory too: {@link FsHandle#descriptors}); false when that would pass {@link #max}.
     */
    boolean tryTake(int descriptors) {
        while (true) {
            int now = held.get();
            if (now > max - descriptors) {
                return false;
            }
            if (held.compareAndSet(now, now + descriptors)) {
                return true;
            }
        }
    }

    /**
     * Takes room for {@code descriptors} that {@code what} holds open while it is under way (a tree
     * walk's directory, a Copy's or RemoveDir's own: {@link FsSlicedWork}); EMFILE when that would
     * pass {@link #max}.
     */
    void take(int descriptors, String what) throws FsFailure {
        if (!tryTake(descriptors)) {
            throw new FsFailure(24, what + ": too many open handles and descriptors of Copies and tree walks under way: "
                    + max + " descriptors over all connections, half the agent's open-file limit (os error 24)");
        }
    }

    /** Gives back the room of handles taken out of a table: {@code descriptors}, as they were taken. */
    void giveBack(int descriptors) {
        held.addAndGet(-descriptors);
    }

    int max() {
        return max;
    }

    int held() {
        return held.get();
    }
}
