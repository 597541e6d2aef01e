package io.agentd.agent.fs;

import java.util.function.BooleanSupplier;

/**
 * Whether the request a worker runs now was stopped (its owner left: the connection ended, or its
 * relay client did), for the operations that can go on for as long as their input lasts: a Copy's
 * bytes (a file a session keeps appending to, /proc/1/pagemap's 256 GiB of mostly holes), a tree
 * Copy's or a recursive RemoveDir's entries. They ask between steps and end with ECANCELED, their
 * answer unsent (a stopped request has none). Without it they ran to their end with nobody to
 * answer, holding one of the agent's few workers, which every host's fs requests share (a review).
 * The agent's stop stops them the same way, and that request is answered: FsSlicedRequest says
 * why in place of this wording. Set by {@link FsTasks#run} around each task, on the worker's thread.
 */
final class FsStop {
    private static final BooleanSupplier NEVER = () -> false;
    private static final ThreadLocal<BooleanSupplier> CURRENT = ThreadLocal.withInitial(() -> NEVER);

    private FsStop() {}

    /** From now until {@link #clear}, {@link #check} on this thread asks {@code stopped}. */
    static void set(BooleanSupplier stopped) {
        CURRENT.set(stopped);
    }

    static void clear() {
        CURRENT.set(NEVER);
    }

    /** ECANCELED, for {@code what}, when the request this thread runs was stopped. */
    static void check(String what) throws FsFailure {
        if (CURRENT.get().getAsBoolean()) {
            throw new FsFailure(FsFailure.ECANCELED, what + ": stopped, its host is gone (os error 125)");
        }
    }
}
