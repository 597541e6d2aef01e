package io.agentd.agent.fs;

import java.util.LinkedHashSet;
import java.util.function.LongPredicate;

/**
 * Write ids that ended early (refused, failed, stopped) whose remaining data is dropped quietly
 * until their empty chunk, rather than answered with one core.error a chunk. Loop thread only.
 */
final class FsAbsorbedWrites {
    /** Ids kept at most: past it the oldest is forgotten, and its later data is refused as any stray data. */
    private static final int ABSORBED_MAX = 1024;

    private final LinkedHashSet<Long> absorbing = new LinkedHashSet<>();

    /** The Write on {@code id} ended before the host's empty chunk: its further data is dropped. */
    void absorbRest(long id) {
        absorbing.add(id);
        if (absorbing.size() > ABSORBED_MAX) {
            Long oldest = absorbing.iterator().next();
            absorbing.remove(oldest);
        }
    }

    /** Whether {@code data} on {@code id} is dropped here; its empty chunk, the last, ends the dropping. */
    boolean drops(long id, byte[] data) {
        if (!absorbing.contains(id)) {
            return false;
        }
        if (data.length == 0) {
            absorbing.remove(id);
        }
        return true;
    }

    /** A new request on {@code id}: data on it from now on is that request's. */
    void forget(long id) {
        absorbing.remove(id);
    }

    /** The owner of {@code ids} is gone: none of them is absorbed any more. */
    void forget(LongPredicate ids) {
        absorbing.removeIf(ids::test);
    }
}
