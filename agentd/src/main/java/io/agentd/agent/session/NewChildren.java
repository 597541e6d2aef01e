package io.agentd.agent.session;

import io.agentd.agent.spawn.Child;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The agent's children between their spawn (on the spawner thread: {@link OffLoopSpawns}) and
 * their session's registration with the {@link Reaper} (on the loop). The reaper's sweep reaps
 * every exited child with waitpid(-1) and passes a leader's status to its session; a child not yet
 * registered would have been taken for an orphan, its exit lost, and its session waited for an exit
 * that never came (a command that exits at once, reaped in the turns between its spawn and its
 * registration). So a spawn and a sweep never overlap ({@link #starting}, {@link #sweepBegins}): a
 * sweep finds every child either registered or named here, and the exit of one named here is kept
 * for its registration ({@link #registered}). The shim's own reap of a child that failed before its
 * exec happens inside the spawn, so a sweep never takes that one either.
 */
final class NewChildren {
    /** How long a spawn waits at most for a sweep that wants to run (it retries every few ms: Reaper). */
    private static final long SWEEP_WAIT_MILLIS = 50;

    /** Held by a spawn, from before the clone until its child is named in {@link #unregistered}; tried by a sweep. */
    private final ReentrantLock spawnOrSweep = new ReentrantLock();
    /** Pids spawned and not yet registered: written by the spawner thread, read and emptied on the loop. */
    private final Set<Integer> unregistered = ConcurrentHashMap.newKeySet();
    /** Wait statuses the sweep reaped of children not yet registered, by pid. Loop thread only. */
    private final Map<Integer, Integer> exitedBeforeRegistration = new HashMap<>();

    /**
     * A sweep found a spawn on its way: the next spawn lets it go first ({@link #letTheSweepGoFirst}),
     * else spawns one after the other (several hosts' requests) left it no gap to run in.
     */
    private volatile boolean sweepWanted;

    /** {@code starter}, each start made outside any sweep, its child named until it is registered. */
    Sessions.Starter starting(Sessions.Starter starter) {
        return (spec, cgroupFd) -> {
            letTheSweepGoFirst();
            spawnOrSweep.lock();
            try {
                Child child = starter.start(spec, cgroupFd);
                unregistered.add(child.pid());
                return child;
            } finally {
                spawnOrSweep.unlock();
            }
        };
    }

    /** On the spawner thread: a sweep that found a spawn on its way runs first (it tries again within ms); bounded. */
    private void letTheSweepGoFirst() {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SWEEP_WAIT_MILLIS);
        while (sweepWanted && System.nanoTime() - deadline < 0) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    /** A sweep may reap now (no spawn is on its way); if true, {@link #sweepEnds} must follow. Loop thread. */
    boolean sweepBegins() {
        boolean free = spawnOrSweep.tryLock();
        sweepWanted = !free;
        return free;
    }

    void sweepEnds() {
        spawnOrSweep.unlock();
    }

    /** The sweep reaped {@code pid}, no leader: kept when it is a child not yet registered, else an orphan's (false). */
    boolean keptForRegistration(int pid, int waitStatus) {
        if (!unregistered.remove(pid)) {
            return false;
        }
        exitedBeforeRegistration.put(pid, waitStatus);
        return true;
    }

    /** The child {@code pid} is registered (or given up): its wait status when the sweep reaped it first, else null. */
    Integer registered(int pid) {
        unregistered.remove(pid);
        return exitedBeforeRegistration.remove(pid);
    }
}
