package io.agentd.agent.session;

import io.agentd.agent.spawn.SpawnSpec;
import io.agentd.agent.sys.Threads;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's spawns, on a thread of their own ("spawner"), one at a time in the order asked, each
 * outcome handed back to the loop (DESIGN.md decision 1). The spawn's call returns only once the
 * child has exec'd its target or given up: a few milliseconds under TCG, and for as long as the
 * exec's file system takes to answer (a hung virtiofs or NFS mount, until the spawn guard kills the
 * child). On the loop thread, every host, session and timer waited that long; here only the frames
 * the requesting host sent after its request wait (its connection holds them: Connection), and the
 * spawns behind it. One thread: spawns share the low fd slots (SpawnSlots), and a spawn is mostly
 * the kernel's clone and exec, which a second thread would only make compete for the same CPUs.
 *
 * <p>The thread is made at the first spawn, by the loop thread (which never takes a user's rights),
 * so an agent that runs no command has none. When the kernel refuses it (a session's fork bomb in
 * the agent's pid space, the uid at its process limit), the spawn runs on the loop as before there
 * was a thread, and the next spawn asks for the thread again.
 */
final class OffLoopSpawns implements SpawnRunner {
    private static final Logger log = LoggerFactory.getLogger(OffLoopSpawns.class);

    /** Runs a task on the loop thread, from any thread (EventLoop#execute). */
    private final Executor toLoop;
    /** Spawns asked for and not yet taken by the thread. */
    private final Queue<Runnable> waiting = new ConcurrentLinkedQueue<>();
    /** The spawner thread; null until the first spawn, or after the kernel refused it. */
    private Thread thread;
    private boolean refusalLogged;

    OffLoopSpawns(Executor toLoop) {
        this.toLoop = toLoop;
    }

    @Override
    public void spawn(Sessions.Starter starter, SpawnSpec spec, int cgroupFd, Outcome outcome) {
        if (thread == null && !startThread()) {
            INLINE.spawn(starter, spec, cgroupFd, outcome);
            return;
        }
        waiting.add(() -> spawnNow(starter, spec, cgroupFd, outcome));
        LockSupport.unpark(thread); // one futex wake, no monitor handed over
    }

    /**
     * On the spawner thread: the spawn, as {@link #INLINE} makes it (a RuntimeException is a bug the
     * loop answers and logs), its outcome posted to the loop; the thread goes on with the next spawn.
     */
    private void spawnNow(Sessions.Starter starter, SpawnSpec spec, int cgroupFd, Outcome outcome) {
        try {
            INLINE.spawn(starter, spec, cgroupFd,
                    (child, failure, bug) -> toLoop.execute(() -> outcome.spawned(child, failure, bug)));
        } catch (Error e) {
            // As on the loop, where the spawn ran before and still runs alone: an Error ends the agent
            // (Main), since no state can be trusted after it; thrown there, not lost with this thread.
            toLoop.execute(() -> {
                throw e;
            });
        }
    }

    private boolean startThread() {
        thread = Threads.startDaemon("spawner", this::takeSpawns);
        if (thread == null && !refusalLogged) { // once: while the kernel refuses, every spawn would say it
            refusalLogged = true;
            log.warn("spawn: no thread for spawns (the kernel refused it: unable to create native thread): commands"
                    + " are spawned on the loop until one can be made");
        }
        return thread != null;
    }

    private void takeSpawns() {
        for (;;) {
            Runnable next = waiting.poll();
            if (next == null) {
                LockSupport.park(this); // an unpark before it makes it return at once: none is lost
                continue;
            }
            next.run();
        }
    }
}
