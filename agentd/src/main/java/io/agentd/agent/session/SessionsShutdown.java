package io.agentd.agent.session;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.sys.LibC;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's shutdown as its sessions see it: every session's group signalled (SIGTERM, then
 * SIGKILL with the cgroups after the grace), its exit waited for, and the wait given up on for
 * sessions the kernel cannot end. No request is taken once it has begun; a spawn already on its way
 * (off the loop) brings its session late, and it is signalled then ({@link #startedLate}). Loop
 * thread only.
 */
final class SessionsShutdown {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class); // Sessions' lines, as before
    /** How long a shutdown waits for its sessions after their SIGKILL ({@link #stopWaitingForUnkillable}). */
    static final long KILLED_EXIT_WAIT_MILLIS = 10_000;

    private final Loop loop;
    private final SessionTable table;
    private final SharedParts parts;
    /** Runs when the shutdown stops waiting for sessions: as when the last one has ended. */
    private final Runnable onIdle;
    private boolean begun;
    /** Spawns whose outcome has not come back (SessionLauncher): the wait is for them too. */
    private final IntSupplier spawnsInFlight;
    /** The grace is over: what is left was sent SIGKILL, cgroups killed. */
    private boolean killing;

    SessionsShutdown(Loop loop, SessionTable table, SharedParts parts, IntSupplier spawnsInFlight, Runnable onIdle) {
        this.loop = loop;
        this.spawnsInFlight = spawnsInFlight;
        this.table = table;
        this.parts = parts;
        this.onIdle = onIdle;
    }

    /** True once the shutdown has begun: requests are answered failed from then on. */
    boolean begun() {
        return begun;
    }

    /**
     * SIGTERM to every session's group now, SIGKILL to what is left after the grace, and after
     * {@link #KILLED_EXIT_WAIT_MILLIS} and the drain window more the shutdown goes on without the
     * sessions that are still not over ({@link #stopWaitingForUnkillable}).
     */
    void begin() {
        begun = true;
        table.all().forEach(Session::agentShuttingDown);
        signalAll(LibC.SIGTERM);
        loop.schedule(parts.defaults().graceMillis(), () -> {
            killing = true;
            signalAll(LibC.SIGKILL);
            parts.cgroups().killAll();
            // Past the drain window too: a session whose leader died of the SIGKILL may still be
            // reading what its descendants left, for up to --drain-ms.
            loop.schedule(KILLED_EXIT_WAIT_MILLIS + parts.defaults().drainMillis(), this::stopWaitingForUnkillable);
        });
    }

    /**
     * {@code s} started after the shutdown had begun (its spawn was on its way: {@link OffLoopSpawns}):
     * it gets what the sessions before it got, SIGTERM, or SIGKILL with its cgroup once the grace is
     * over. Nothing when no shutdown has begun.
     */
    void startedLate(Session s) {
        if (!begun) {
            return;
        }
        s.agentShuttingDown();
        int signal = killing ? LibC.SIGKILL : LibC.SIGTERM;
        s.signalGroup(signal);
        if (killing) {
            s.cgroup.kill(0);
        }
        log.info("session {} started as the agent shut down: signal {} sent", s.id, signal);
    }

    /**
     * A session not over this long after its SIGKILL has a leader the kernel cannot end yet: one in
     * uninterruptible sleep (I/O to a hung NFS server, FUSE daemon or device) takes the signal only
     * when that I/O returns, which may be never. The shutdown must not wait for it for ever (init
     * waits for the agent to power the VM off): it goes on without those exits. Their groups stay
     * recorded and their cgroups in place, so the next agent's start kills what is left.
     */
    private void stopWaitingForUnkillable() {
        int spawning = spawnsInFlight.getAsInt();
        if (table.isEmpty() && spawning == 0) {
            return;
        }
        List<Integer> pids = new ArrayList<>();
        table.all().forEach(s -> pids.add(s.pid));
        // A spawn that has not returned by now waits on a child the kernel cannot end either (its exec
        // in uninterruptible sleep on a mount that does not answer; the spawn guard's SIGKILL pending).
        log.warn("{} session(s) not over {} ms after SIGKILL (leader pids {}; in uninterruptible sleep?) and {} spawn(s)"
                + " not returned: the agent stops without them", table.size(),
                KILLED_EXIT_WAIT_MILLIS + parts.defaults().drainMillis(), pids, spawning);
        onIdle.run();
    }

    private void signalAll(int signal) {
        for (Session s : table.all()) {
            s.signalGroup(signal);
        }
        int lingering = parts.reaper().signalLingering(k -> true, signal);
        if (!table.isEmpty() || lingering > 0) {
            log.info("signal {} to {} session(s) and {} lingering group(s)", signal, table.size(), lingering);
        }
    }
}
