package io.agentd.agent.session;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.session.cgroup.SessionCgroup;
import io.agentd.agent.sys.ExitStatus;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.loop.LogThrottle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Collects exits: a leader whose pidfd turned readable is reaped alone, and a periodic sweep of
 * waitpid(-1, WNOHANG) collects orphans handed to the agent (a child subreaper), passing any status
 * that belongs to a session's leader to that session, so no session's exit is lost to the sweep.
 * It also keeps the lingering groups: sessions that sent exited while descendants lived on in their
 * process group (or, having left it, in the session's cgroup), so a signal on the id still reaches
 * the group, and a host's loss still kills what its ended sessions left; the sweep prunes them once
 * empty. They are keyed by connection and id, as the host names them. Loop thread only.
 */
final class Reaper {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class); // Sessions' lines, as before
    /** Orphans are reaped within this; no zombie outlives it by much. */
    static final long SWEEP_MILLIS = 500;
    /** Sweep interval while some session has no pidfd (old kernels): its exit is seen only here. */
    static final long FAST_SWEEP_MILLIS = 50;
    /** A sweep due while a spawn is on its way waits this long, not a whole period: spawns are short. */
    static final long SPAWN_BUSY_RETRY_MILLIS = 5;

    private final Loop loop;
    private final SessionIo io;
    /** Runs after every sweep (the group records prune what is gone). */
    private final Runnable afterSweep;
    private final NewChildren newChildren;
    private final Map<Integer, Session> leaders = new HashMap<>();
    /** What an ended session left running: its process group ({@link #NO_GROUP} once that is empty) and cgroup. */
    private record Lingering(int pgid, SessionCgroup cgroup) {
        Lingering withoutGroup() {
            return new Lingering(NO_GROUP, cgroup);
        }
    }

    /** A lingering entry's group is known empty (its pgid may name another group now): never signalled. */
    private static final int NO_GROUP = 0;

    /** Ended sessions whose group (or cgroup) still has members, by the key their host knew them by. */
    private final Map<SessionKey, Lingering> lingeringGroups = new HashMap<>();
    /**
     * Entries no longer reached by a signal on their id (a newer session or an attach took the key,
     * or their group's pid was reused), kept so that their host's loss still kills what is left
     * (DESIGN.md: a host's loss kills what its ended sessions left, setsid'd descendants included).
     */
    private final List<Map.Entry<SessionKey, Lingering>> displaced = new ArrayList<>();
    /** waitpid's out-parameter, reused (loop thread only). */
    private final int[] waitStatus = new int[1];
    /** Live sessions whose leader has no pidfd (old kernels): while any, the sweep runs fast. */
    private int withoutPidfd;
    /** A sweep that fails on every round gets a line a minute, not one a round. */
    private final LogThrottle sweepFailures;

    Reaper(Loop loop, SessionIo io, Runnable afterSweep) {
        this(loop, io, afterSweep, new NewChildren());
    }

    /** @param newChildren the children spawned and not yet registered here, which the sweep must not take for orphans */
    Reaper(Loop loop, SessionIo io, Runnable afterSweep, NewChildren newChildren) {
        this.loop = loop;
        this.newChildren = newChildren;
        this.sweepFailures = new LogThrottle(loop, 60_000, log, Level.ERROR, "reaper failures");
        this.io = io;
        this.afterSweep = afterSweep;
    }

    /** Starts the sweep. */
    void start() {
        loop.schedule(SWEEP_MILLIS, this::sweep);
    }

    /**
     * A session started under {@code key}: a lingering entry of the key is no longer its id's, and
     * one whose group had this pid has an empty group (a pid in use as a pgid is not handed out);
     * both stay, displaced, while their cgroup has members.
     */
    void started(SessionKey key, Session s) {
        keyTaken(key);
        for (Iterator<Map.Entry<SessionKey, Lingering>> it = lingeringGroups.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<SessionKey, Lingering> e = it.next();
            if (e.getValue().pgid() == s.pid) {
                it.remove();
                displace(e.getKey(), e.getValue().withoutGroup());
            }
        }
        displaced.replaceAll(e -> e.getValue().pgid() == s.pid ? Map.entry(e.getKey(), e.getValue().withoutGroup()) : e);
        leaders.put(s.pid, s);
        if (!s.hasPidfd()) {
            withoutPidfd++;
        }
        Integer exited = newChildren.registered(s.pid);
        if (exited != null) {
            // The sweep reaped it between its spawn and now: its pid may be anyone's, so no signal goes
            // to its group from here on; its status as the sweep passes a leader's, once the start is
            // done (its started sent, a start_detached detached).
            s.leaderReapedBeforeRegistration();
            loop.schedule(0, () -> {
                if (leaders.remove(s.pid, s)) {
                    s.onLeaderExit(exited);
                }
            });
        }
    }

    /** The spawn of {@code pid} gave a child that will not be registered (its start failed after the spawn): an orphan from now on. */
    void notRegistered(int pid) {
        newChildren.registered(pid);
    }

    /** A starter whose children the sweep leaves alone until they are registered ({@link NewChildren}). */
    Sessions.Starter starting(Sessions.Starter starter) {
        return newChildren.starting(starter);
    }

    /** The leader's pidfd is readable: reap exactly that pid. */
    void reapLeader(Session s) {
        s.beforeLeaderReaped();
        int r = io.waitpid(s.pid, waitStatus);
        if (r == s.pid) {
            leaders.remove(s.pid);
            s.onLeaderExit(waitStatus[0]);
        }
        // 0 or ECHILD: the sweep has it (or already handed its status over).
    }

    /** A session sent exited, last addressed as {@code key}: its group lingers while it has members. */
    void finished(SessionKey key, Session s) {
        // Only our own entry: the leader was reaped before the drain window, so its pid may already
        // belong to a newer session, whose exit status the sweep would otherwise reap unclaimed.
        leaders.remove(s.pid, s);
        if (!s.hasPidfd()) {
            withoutPidfd--;
        }
        // The group's id is kept only while the group lives and is no newer session's: an empty
        // group's pid may be handed to any process, and one that leads a group then would take the
        // signals (a host's SIGKILL at its loss) meant for what this session left in its cgroup.
        boolean groupLives = io.reapedLeadersGroupAlive(s.pid) && !leaders.containsKey(s.pid);
        if (groupLives || s.cgroup.populated()) {
            displace(key, lingeringGroups.put(key, new Lingering(groupLives ? s.pid : NO_GROUP, s.cgroup)));
        }
    }

    /** Keeps {@code l} (if any, and if something of it may live) for its host's loss only. */
    private void displace(SessionKey key, Lingering l) {
        if (l != null && (l.pgid() != NO_GROUP || l.cgroup().populated())) {
            displaced.add(Map.entry(key, l));
        }
    }

    /**
     * An attach took the exit of a session that ended with no host: what it left lingers under the
     * attacher's key {@code to} from now on (a signal on that id reaches the group, and the
     * attacher's loss kills it), as if the attacher had been there at the exit. An entry the key had
     * is forgotten, as when a new session starts under it.
     */
    void rehost(SessionKey from, SessionKey to) {
        Lingering l = lingeringGroups.remove(from);
        displace(to, l != null ? lingeringGroups.put(to, l) : lingeringGroups.remove(to));
    }

    /**
     * A session now answers to {@code key} (one started on it, or attached there): what an ended
     * session left lingering under it no longer does (a signal on the id is the new session's), but
     * the host's loss still kills it.
     */
    void keyTaken(SessionKey key) {
        displace(key, lingeringGroups.remove(key));
    }

    /** Whether the ended session {@code key} left processes in its cgroup only (its group empty). */
    boolean lingersInCgroupOnly(SessionKey key) {
        Lingering l = lingeringGroups.get(key);
        return l != null && l.pgid() == NO_GROUP && l.cgroup().populated();
    }

    /** The process group of the ended session {@code key} whose descendants live on, or null. */
    Integer lingeringGroup(SessionKey key) {
        Lingering l = lingeringGroups.get(key);
        return l == null || l.pgid() == NO_GROUP ? null : l.pgid();
    }

    /**
     * The ended session {@code key}'s group is found empty: the entry goes, unless its cgroup still
     * holds what left the group (then only the group is forgotten). True when nothing of it lives.
     */
    boolean groupFoundEmpty(SessionKey key) {
        Lingering l = lingeringGroups.remove(key);
        if (l != null && l.cgroup().populated()) {
            lingeringGroups.put(key, l.withoutGroup());
            return false;
        }
        return true;
    }

    /** Signals the lingering groups whose key {@code which} accepts; returns how many there were. */
    int signalLingering(Predicate<SessionKey> which, int signal) {
        int n = 0;
        for (Map.Entry<SessionKey, Lingering> e : allLingering()) {
            if (which.test(e.getKey()) && e.getValue().pgid() != NO_GROUP) {
                killIfStillTheGroup(e.getValue().pgid(), signal);
                n++;
            }
        }
        return n;
    }

    /**
     * Their host is gone: SIGKILL to the lingering groups {@code which} accepts, and to everything in
     * their cgroups (what left the group too); they are forgotten (the sweep reaps what was ours).
     */
    void killLingering(Predicate<SessionKey> which) {
        Predicate<Map.Entry<SessionKey, Lingering>> kill = e -> {
            if (!which.test(e.getKey())) {
                return false;
            }
            if (e.getValue().pgid() != NO_GROUP) {
                killIfStillTheGroup(e.getValue().pgid(), LibC.SIGKILL);
            }
            e.getValue().cgroup().kill(0);
            return true;
        };
        lingeringGroups.entrySet().removeIf(kill);
        displaced.removeIf(kill);
    }

    private List<Map.Entry<SessionKey, Lingering>> allLingering() {
        List<Map.Entry<SessionKey, Lingering>> all = new ArrayList<>(lingeringGroups.entrySet());
        all.addAll(displaced);
        return all;
    }

    /** The session was abandoned: its leader is reaped by the sweep as an orphan. */
    void abandoned(Session s) {
        leaders.remove(s.pid, s);
        if (!s.hasPidfd()) {
            withoutPidfd--; // finished never comes for it
        }
    }

    int lingeringCount() {
        return lingeringGroups.size() + displaced.size();
    }

    /**
     * One sweep, and the next one scheduled whatever happens in it: a RuntimeException under a
     * session's exit or the after-sweep work (logged, throttled) must not end sweeping for good, or
     * orphans would stay zombies and sessions without a pidfd would never see their exit.
     */
    private void sweep() {
        if (!newChildren.sweepBegins()) {
            loop.schedule(SPAWN_BUSY_RETRY_MILLIS, this::sweep); // a child of that spawn must not be taken for an orphan
            return;
        }
        try {
            while (true) {
                int pid = io.waitpid(-1, waitStatus);
                if (pid <= 0) {
                    break; // 0: children left but none exited; -1 ECHILD: no children at all
                }
                Session s = leaders.remove(pid);
                if (s != null) {
                    try {
                        s.onLeaderExit(waitStatus[0]);
                    } catch (RuntimeException e) {
                        sweepFailed("session " + s.id + "'s exit (pid " + pid + ")", e); // the others' still come
                    }
                } else if (!newChildren.keptForRegistration(pid, waitStatus[0])) {
                    log.debug("reaped pid {} ({})", pid, describe(waitStatus[0]));
                }
            }
            pruneLingering();
            afterSweep.run();
        } catch (RuntimeException e) {
            sweepFailed("the sweep", e);
        } finally {
            newChildren.sweepEnds();
            loop.schedule(withoutPidfd > 0 ? FAST_SWEEP_MILLIS : SWEEP_MILLIS, this::sweep);
        }
    }

    private void sweepFailed(String what, RuntimeException e) {
        if (sweepFailures.take()) {
            log.error("reaper: {} failed; the sweep goes on", what, e);
        }
    }

    /**
     * Forgets the group of an entry whose group is found empty (its pid may be anyone's from now on;
     * its cgroup still holds what left the group), then the entries of which nothing lives.
     */
    private void pruneLingering() {
        lingeringGroups.replaceAll((key, l) -> withLiveGroupOnly(l));
        lingeringGroups.values().removeIf(Reaper::nothingLives);
        displaced.replaceAll(e -> Map.entry(e.getKey(), withLiveGroupOnly(e.getValue())));
        displaced.removeIf(e -> nothingLives(e.getValue()));
    }

    private Lingering withLiveGroupOnly(Lingering l) {
        return l.pgid() != NO_GROUP && !io.reapedLeadersGroupAlive(l.pgid()) ? l.withoutGroup() : l;
    }

    /**
     * A lingering group's signal, unless its id has a new owner since the last prune (the group
     * emptied and the pid went to another process, which may lead a group by it).
     */
    private void killIfStillTheGroup(int pgid, int signal) {
        if (io.reapedLeadersGroupAlive(pgid)) {
            io.killGroup(pgid, signal);
        }
    }

    private static boolean nothingLives(Lingering l) {
        return l.pgid() == NO_GROUP && !l.cgroup().populated();
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
