package io.agentd.agent.session;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.sys.ExitStatus;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.function.IntPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collects exits: a leader whose pidfd turned readable is reaped alone, and a periodic sweep of
 * waitpid(-1, WNOHANG) collects orphans handed to the agent (a child subreaper), passing any status
 * that belongs to a session's leader to that session, so no session's exit is lost to the sweep.
 * It also keeps the lingering groups: sessions that sent exited while descendants lived on in their
 * process group, so a signal on the id still reaches the group; the sweep prunes them once empty.
 * Loop thread only.
 */
final class Reaper {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class); // Sessions' lines, as before
    /** Orphans are reaped within this; no zombie outlives it by much. */
    static final long SWEEP_MILLIS = 500;
    /** Sweep interval while some session has no pidfd (old kernels): its exit is seen only here. */
    static final long FAST_SWEEP_MILLIS = 50;

    private final Loop loop;
    private final SessionIo io;
    /** Runs after every sweep (the group records prune what is gone). */
    private final Runnable afterSweep;
    private final Map<Integer, Session> leaders = new HashMap<>();
    /** Session id to its process group, for ended sessions whose group still has members. */
    private final Map<Long, Integer> lingeringGroups = new HashMap<>();
    /** waitpid's out-parameter, reused (loop thread only). */
    private final int[] waitStatus = new int[1];
    /** Live sessions whose leader has no pidfd (old kernels): while any, the sweep runs fast. */
    private int withoutPidfd;

    Reaper(Loop loop, SessionIo io, Runnable afterSweep) {
        this.loop = loop;
        this.io = io;
        this.afterSweep = afterSweep;
    }

    /** Starts the sweep. */
    void start() {
        loop.schedule(SWEEP_MILLIS, this::sweep);
    }

    /** A session started under {@code id}: an old lingering entry of the id, or of its pid, is gone. */
    void started(long id, Session s) {
        lingeringGroups.remove(id);
        lingeringGroups.values().removeIf(pgid -> pgid == s.pid); // that group is gone: pid reused
        leaders.put(s.pid, s);
        if (!s.hasPidfd()) {
            withoutPidfd++;
        }
    }

    /** The leader's pidfd is readable: reap exactly that pid. */
    void reapLeader(Session s) {
        int r = io.waitpid(s.pid, waitStatus);
        if (r == s.pid) {
            leaders.remove(s.pid);
            s.onLeaderExit(waitStatus[0]);
        }
        // 0 or ECHILD: the sweep has it (or already handed its status over).
    }

    /** A session sent exited: its group lingers while it has members. */
    void finished(Session s) {
        // Only our own entry: the leader was reaped before the drain window, so its pid may already
        // belong to a newer session, whose exit status the sweep would otherwise reap unclaimed.
        leaders.remove(s.pid, s);
        if (!s.hasPidfd()) {
            withoutPidfd--;
        }
        if (io.groupAlive(s.pid)) {
            lingeringGroups.put(s.id, s.pid);
        }
    }

    /** The process group of ended session {@code id} whose descendants live on, or null. */
    Integer lingeringGroup(long id) {
        return lingeringGroups.get(id);
    }

    /** Ended session {@code id}'s group is found empty. */
    void forgetLingering(long id) {
        lingeringGroups.remove(id);
    }

    /** Signals every lingering group; returns how many there were. */
    int signalLingering(int signal) {
        for (int pgid : lingeringGroups.values()) {
            io.killGroup(pgid, signal);
        }
        return lingeringGroups.size();
    }

    /** Session {@code s} was abandoned: its leader is reaped by the sweep as an orphan. */
    void forget(Session s) {
        leaders.remove(s.pid, s);
        if (!s.hasPidfd()) {
            withoutPidfd--;
        }
    }

    /** The lingering groups were killed with their host. */
    void forgetLingering() {
        lingeringGroups.clear();
    }

    /** Every session was abandoned: their leaders are reaped by the sweep as orphans. */
    void forgetAll() {
        leaders.clear();
        lingeringGroups.clear();
        withoutPidfd = 0;
    }

    int lingeringCount() {
        return lingeringGroups.size();
    }

    private void sweep() {
        while (true) {
            int pid = io.waitpid(-1, waitStatus);
            if (pid <= 0) {
                break; // 0: children left but none exited; -1 ECHILD: no children at all
            }
            Session s = leaders.remove(pid);
            if (s != null) {
                s.onLeaderExit(waitStatus[0]);
            } else {
                log.debug("reaped pid {} ({})", pid, describe(waitStatus[0]));
            }
        }
        prune(pgid -> !io.groupAlive(pgid));
        afterSweep.run();
        loop.schedule(withoutPidfd > 0 ? FAST_SWEEP_MILLIS : SWEEP_MILLIS, this::sweep);
    }

    private void prune(IntPredicate gone) {
        for (Iterator<Integer> it = lingeringGroups.values().iterator(); it.hasNext(); ) {
            if (gone.test(it.next())) {
                it.remove();
            }
        }
    }

    private static String describe(int status) {
        try {
            ExitStatus e = ExitStatus.fromWaitStatus(status);
            return e.signal() == null ? "exit " + e.code() : "signal " + e.signal();
        } catch (IllegalArgumentException notAnExit) {
            return "status 0x" + Integer.toHexString(status);
        }
    }
}
