package io.agentd.agent.session;

import io.agentd.agent.spawn.Child;
import io.agentd.agent.spawn.SpawnFailure;
import io.agentd.agent.spawn.SpawnSpec;

/**
 * Where a session's spawn runs (DESIGN.md decision 1): on a thread of its own in the agent
 * ({@link OffLoopSpawns}), so that the loop serves every other host, session and timer while the
 * child makes its way to its exec; or at once, on the caller's thread ({@link #INLINE}: a lone
 * host's request while nothing runs (SessionLauncher), the agent when the kernel refuses it a
 * thread, and the tests that drive a scripted loop).
 */
interface SpawnRunner {
    /** The outcome of one spawn, handed back on the loop thread, exactly once. */
    @FunctionalInterface
    interface Outcome {
        /**
         * Exactly one of the three is non-null.
         *
         * @param child   the command, exec'd
         * @param failure why it never started (nothing left behind)
         * @param bug     what the start threw besides (nothing was started)
         */
        void spawned(Child child, SpawnFailure failure, Throwable bug);
    }

    /** Starts {@code spec} with {@code starter} in the cgroup {@code cgroupFd} names; {@code outcome} runs on the loop thread. */
    void spawn(Sessions.Starter starter, SpawnSpec spec, int cgroupFd, Outcome outcome);

    /** On the caller's thread, the outcome before the call returns. */
    SpawnRunner INLINE = (starter, spec, cgroupFd, outcome) -> {
        Child child;
        try {
            child = starter.start(spec, cgroupFd);
        } catch (SpawnFailure f) {
            outcome.spawned(null, f, null);
            return;
        } catch (RuntimeException bug) {
            outcome.spawned(null, null, bug);
            return;
        }
        outcome.spawned(child, null, null);
    };
}
