package io.agentd.agent.session;

import static io.agentd.agent.session.SessionHarness.PID;
import static io.agentd.agent.session.SessionHarness.STDERR;
import static io.agentd.agent.session.SessionHarness.STDOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.session.cgroup.ScriptedCgroup;
import io.agentd.agent.spawn.Child;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.agent.sys.LibC;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The reaper's sweep and lingering groups, on a scripted loop and scripted waitpid. */
class ReaperTest {
    private final SessionHarness h = new SessionHarness();
    private int sweeps;
    private final Reaper reaper = new Reaper(h.loop, h.io, () -> sweeps++);

    private Session endedOutputs(Child child) {
        Session s = h.start(child, null, false);
        h.io.eof(STDOUT).eof(STDERR);
        h.loop.fire(STDOUT, Loop.READABLE);
        h.loop.fire(STDERR, Loop.READABLE);
        return s;
    }

    private static SessionKey key(long id) {
        return new SessionKey(1, id);
    }

    @Test
    void theSweepHandsALeadersStatusToItsSessionAndReapsOrphansQuietly() {
        reaper.start();
        Session s = endedOutputs(SessionHarness.pipes());
        reaper.started(key(1), s);
        h.io.exit(PID, 7).exit(4242, 0);
        h.loop.advance(Reaper.SWEEP_MILLIS);
        h.loop.advance(Reaper.SWEEP_MILLIS);
        assertEquals(7, ((ExecExited) h.host.of(MessageType.EXEC_EXITED).get(0).payload()).code());
        assertTrue(sweeps >= 2, "the sweep runs again and again");
    }

    @Test
    void withoutAPidfdTheSweepRunsFast() {
        reaper.start();
        h.loop.advance(Reaper.SWEEP_MILLIS);
        Session s = endedOutputs(new Child(PID, -1, 10, 11, 12, false));
        reaper.started(key(1), s);
        h.io.exit(PID, 0);
        h.loop.advance(Reaper.SWEEP_MILLIS); // the sweep scheduled before the session: a slow one
        int before = sweeps;
        h.loop.advance(Reaper.FAST_SWEEP_MILLIS);
        assertEquals(before + 1, sweeps);
        assertEquals(1, h.host.of(MessageType.EXEC_EXITED).size());
    }

    @Test
    void aGroupOutlivingItsSessionLingersUntilTheSweepFindsItEmpty() {
        reaper.start();
        Session s = endedOutputs(SessionHarness.pipes());
        reaper.started(key(1), s);
        h.io.groupAlive(PID, true);
        reaper.finished(key(1), s);
        assertEquals(PID, reaper.lingeringGroup(key(1)));
        assertEquals(1, reaper.signalLingering(k -> true, 15));

        h.loop.advance(Reaper.SWEEP_MILLIS);
        assertEquals(PID, reaper.lingeringGroup(key(1)), "still has members");
        h.io.groupAlive(PID, false);
        h.loop.advance(Reaper.SWEEP_MILLIS);
        assertNull(reaper.lingeringGroup(key(1)));
    }

    /**
     * A new session on the id of an ended one whose group lives on takes the id (a signal on it is
     * the new session's), but the host's loss still kills the old group: the id's reuse, which the
     * protocol allows after exited, used to drop it, and it outlived the kill policy.
     */
    @Test
    void aNewSessionOnTheIdOfALingeringGroupTakesTheIdButTheHostsLossStillKillsTheGroup() {
        Session s = endedOutputs(SessionHarness.pipes());
        reaper.started(key(1), s);
        h.io.groupAlive(PID, true);
        reaper.finished(key(1), s);
        reaper.started(key(1), h.start(new Child(PID + 1, 23, 20, 21, 22, false), null, false));
        assertNull(reaper.lingeringGroup(key(1)));
        reaper.killLingering(k -> k.connection() == 1);
        assertEquals(List.of(PID + ":" + LibC.SIGKILL), h.io.signals);
        assertEquals(0, reaper.lingeringCount());
    }

    /**
     * A session attached on the id of an ended one whose group lives on takes the id as a new one
     * does: a signal on it no longer reaches the old group, which the host's loss still kills; and
     * so does the exit of an ended session attached there, whether or not it left something of its
     * own. Before, the old group stayed the id's: once the attached session ended, a signal on the
     * id reached the first session's leftovers.
     */
    @Test
    void aSessionAttachedOnTheIdOfALingeringGroupTakesTheIdButTheHostsLossStillKillsTheGroup() {
        Session s = endedOutputs(SessionHarness.pipes());
        reaper.started(key(1), s);
        h.io.groupAlive(PID, true);
        reaper.finished(key(1), s);
        reaper.keyTaken(key(1)); // a running session attached on id 1
        assertNull(reaper.lingeringGroup(key(1)));

        Session t = h.start(new Child(PID + 1, 23, 20, 21, 22, false), null, false);
        reaper.started(key(2), t);
        h.io.groupAlive(PID + 1, true);
        reaper.finished(key(2), t);
        reaper.rehost(SessionKey.hostless(9), key(2)); // an ended session that left nothing attached on id 2
        assertNull(reaper.lingeringGroup(key(2)));

        reaper.killLingering(k -> k.connection() == 1);
        assertEquals(List.of(PID + ":" + LibC.SIGKILL, (PID + 1) + ":" + LibC.SIGKILL), h.io.signals);
        assertEquals(0, reaper.lingeringCount());
    }

    /**
     * A new session with the pid of a lingering group's leader: that group is empty (a pid in use as
     * a pgid is not handed out), so it is never signalled again (the pgid is the new session's), but
     * what left it and lives on in its cgroup is still killed at the host's loss.
     */
    @Test
    void aNewSessionOnThePidOfALingeringGroupLeavesItsCgroupToTheHostsLoss() {
        ScriptedCgroup cgroup = new ScriptedCgroup();
        Session s = h.start(SessionHarness.pipes(), null, false, cgroup);
        h.io.eof(STDOUT).eof(STDERR);
        h.loop.fire(STDOUT, Loop.READABLE);
        h.loop.fire(STDERR, Loop.READABLE);
        reaper.started(key(1), s);
        h.io.groupAlive(PID, true);
        reaper.finished(key(1), s);
        h.io.groupAlive(PID, false);
        reaper.started(key(2), h.start(new Child(PID, 23, 20, 21, 22, false), null, false)); // pid reused
        assertNull(reaper.lingeringGroup(key(1)));
        assertEquals(0, reaper.signalLingering(k -> true, 15), "the pgid is the new session's now");
        reaper.killLingering(k -> k.connection() == 1);
        assertEquals(List.of(), h.io.signals, "no group signalled");
        assertEquals(1, cgroup.kills, "the cgroup killed whole");
    }

    /**
     * A signal on an ended session's id finds its group empty (ESRCH) while processes that left the
     * group still run in its cgroup: the entry stays for the host's loss (it used to be forgotten).
     */
    @Test
    void aGroupFoundEmptyWithItsCgroupPopulatedStaysForTheHostsLoss() {
        ScriptedCgroup cgroup = new ScriptedCgroup();
        Session s = h.start(SessionHarness.pipes(), null, false, cgroup);
        reaper.started(key(1), s);
        reaper.finished(key(1), s); // group empty, cgroup populated
        assertTrue(!reaper.groupFoundEmpty(key(1)), "something of it lives");
        assertNull(reaper.lingeringGroup(key(1)), "no group to signal");
        reaper.killLingering(k -> k.connection() == 1);
        assertEquals(1, cgroup.kills);
        cgroup.populated = false;
        reaper.started(key(3), h.start(new Child(PID + 2, 33, 30, 31, 32, false), null, false));
        reaper.finished(key(3), h.start(new Child(PID + 3, 43, 40, 41, 42, false), null, false));
        assertTrue(reaper.groupFoundEmpty(key(3)), "nothing of an entry that is not there");
    }

    /**
     * An ended session whose group is empty but whose cgroup still has members (a setsid'd daemon):
     * what lingers is the cgroup alone. Before, the entry kept the group's id, which any new process
     * could take as a group of its own, and a signal on the id or the host's loss signalled that one.
     */
    @Test
    void anEmptyGroupIsNotKeptForItsCgroupsSake() {
        ScriptedCgroup cgroup = new ScriptedCgroup();
        Session s = h.start(SessionHarness.pipes(), null, false, cgroup);
        reaper.started(key(1), s);
        h.io.groupAlive(PID, false);
        reaper.finished(key(1), s);
        assertNull(reaper.lingeringGroup(key(1)), "no group to signal");
        assertTrue(reaper.lingersInCgroupOnly(key(1)), "what left the group lives on in the cgroup");
        assertEquals(0, reaper.signalLingering(k -> true, 15));
        reaper.killLingering(k -> k.connection() == 1);
        assertEquals(List.of(), h.io.signals, "no group signalled");
        assertEquals(1, cgroup.kills, "the cgroup killed whole");
    }

    /**
     * The leader was reaped and its pid went to a newer session before the ended one's drain window
     * closed: the live group under that pid is the newer session's, not what the ended one left.
     * Before, the ended session's host's loss killed the newer session's group.
     */
    @Test
    void aGroupUnderAPidANewerSessionLeadsIsNotTheEndedSessions() {
        ScriptedCgroup cgroup = new ScriptedCgroup();
        Session ended = h.start(SessionHarness.pipes(), null, false, cgroup);
        reaper.started(key(1), ended);
        Session newer = h.start(new Child(PID, 23, 20, 21, 22, false), null, false); // the same pid
        reaper.started(new SessionKey(2, 5), newer);
        h.io.groupAlive(PID, true);
        reaper.finished(key(1), ended);
        assertNull(reaper.lingeringGroup(key(1)));
        reaper.killLingering(k -> k.connection() == 1);
        assertEquals(List.of(), h.io.signals, "the newer session's group is not signalled");
        assertEquals(1, cgroup.kills, "the ended session's cgroup killed whole");
    }

    /** The group empties after the exit, the cgroup does not: the sweep forgets the group's id. */
    @Test
    void theSweepForgetsAGroupFoundEmptyWhileItsCgroupLivesOn() {
        reaper.start();
        ScriptedCgroup cgroup = new ScriptedCgroup();
        Session s = h.start(SessionHarness.pipes(), null, false, cgroup);
        reaper.started(key(1), s);
        h.io.groupAlive(PID, true);
        reaper.finished(key(1), s);
        assertEquals(PID, reaper.lingeringGroup(key(1)), "a live group is signalled on the id");
        h.io.groupAlive(PID, false);
        h.loop.advance(Reaper.SWEEP_MILLIS);
        assertNull(reaper.lingeringGroup(key(1)), "its pid may be anyone's now");
        assertEquals(1, reaper.lingeringCount(), "the cgroup still lingers");
        reaper.killLingering(k -> k.connection() == 1);
        assertEquals(List.of(), h.io.signals, "no group signalled");
        assertEquals(1, cgroup.kills, "the cgroup killed whole");
    }

    @Test
    void aHostLossKillsOnlyTheLingeringGroupsOfItsConnection() {
        Session s = endedOutputs(SessionHarness.pipes());
        reaper.started(key(1), s);
        h.io.groupAlive(PID, true);
        reaper.finished(key(1), s);
        reaper.killLingering(k -> k.connection() == 2);
        assertEquals(PID, reaper.lingeringGroup(key(1)), "another connection's loss leaves it alone");
        assertEquals(List.of(), h.io.signals);
        reaper.killLingering(k -> k.connection() == 1);
        assertNull(reaper.lingeringGroup(key(1)));
        assertEquals(List.of(PID + ":" + LibC.SIGKILL), h.io.signals);
    }

    /**
     * A lingering group that empties between two prunes, its id handed to a new process that leads
     * a group by it: the host's signal and the host's loss must not reach that group.
     */
    @Test
    void aLingeringGroupsIdTakenByAnotherProcessIsNotSignalled() {
        Session s = endedOutputs(SessionHarness.pipes());
        reaper.started(key(1), s);
        h.io.groupAlive(PID, true);
        reaper.finished(key(1), s);
        assertEquals(PID, reaper.lingeringGroup(key(1)));
        h.io.processAlive(PID, true); // emptied unseen; the number is a new process's, leading a group
        reaper.signalLingering(k -> true, LibC.SIGTERM);
        reaper.killLingering(k -> k.connection() == 1);
        assertEquals(List.of(), h.io.signals, "the newcomer's group got nothing");
        assertEquals(0, reaper.lingeringCount());
    }

    /** A group whose id is a live process's at the session's end is not kept as lingering at all. */
    @Test
    void aGroupWhoseIdIsAlreadyAnotherProcesssDoesNotLinger() {
        Session s = endedOutputs(SessionHarness.pipes());
        reaper.started(key(1), s);
        h.io.groupAlive(PID, true).processAlive(PID, true);
        reaper.finished(key(1), s);
        assertNull(reaper.lingeringGroup(key(1)));
    }

    @Test
    void aLeaderReapedByItsPidfdIsNotHandedOverAgainByTheSweep() {
        reaper.start();
        Session s = endedOutputs(SessionHarness.pipes());
        reaper.started(key(1), s);
        h.io.exit(PID, 1);
        reaper.reapLeader(s);
        h.io.exit(PID, 2); // the pid exits again: a newer process, not this session's
        h.loop.advance(Reaper.SWEEP_MILLIS);
        assertEquals(1, h.host.of(MessageType.EXEC_EXITED).size());
        assertEquals(1, ((ExecExited) h.host.of(MessageType.EXEC_EXITED).get(0).payload()).code());
    }

    @Test
    void aSweepWhoseAfterWorkThrowsIsScheduledAgain() {
        int[] runs = {0};
        Reaper failing = new Reaper(h.loop, h.io, () -> {
            runs[0]++;
            throw new IllegalStateException("scripted failure after the sweep");
        });
        failing.start();
        h.loop.advance(Reaper.SWEEP_MILLIS);
        h.loop.advance(Reaper.SWEEP_MILLIS);
        h.loop.advance(Reaper.SWEEP_MILLIS);
        assertEquals(3, runs[0], "the sweep goes on after a failure");
        // The next sweep, and the line counting the two failures the log left out, due a minute after the first's.
        assertEquals(2, h.loop.pendingTimers(), "the next sweep is scheduled");
    }

    @Test
    void aSessionWhoseExitThrowsInTheSweepLeavesTheSweepAndOtherExitsGoing() {
        reaper.start();
        Session first = endedOutputs(SessionHarness.pipes());
        reaper.started(key(1), first);
        h.failFinished = new IllegalStateException("scripted failure under a session's exit");
        h.io.exit(PID, 3);
        h.loop.advance(Reaper.SWEEP_MILLIS);
        assertEquals(1, h.finished.size(), "its exit ran (and threw)");

        Session second = h.start(new Child(PID + 1, -1, 20, 21, 22, false), null, false); // no pidfd: the sweep's alone
        h.io.eof(21).eof(22);
        h.loop.fire(21, Loop.READABLE);
        h.loop.fire(22, Loop.READABLE);
        reaper.started(key(2), second);
        h.io.exit(PID + 1, 4);
        h.loop.advance(Reaper.FAST_SWEEP_MILLIS);
        h.loop.advance(Reaper.SWEEP_MILLIS);
        assertEquals(List.of(first, second), h.finished, "the next sweep came and reaped the other");
        assertEquals(4, ((ExecExited) h.host.of(MessageType.EXEC_EXITED).get(1).payload()).code());
    }
}
