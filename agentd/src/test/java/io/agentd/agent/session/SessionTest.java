package io.agentd.agent.session;

import static io.agentd.agent.session.SessionHarness.DRAIN_MILLIS;
import static io.agentd.agent.session.SessionHarness.GRACE_MILLIS;
import static io.agentd.agent.session.SessionHarness.MASTER;
import static io.agentd.agent.session.SessionHarness.PID;
import static io.agentd.agent.session.SessionHarness.PIDFD;
import static io.agentd.agent.session.SessionHarness.STDERR;
import static io.agentd.agent.session.SessionHarness.STDIN;
import static io.agentd.agent.session.SessionHarness.STDOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.session.cgroup.ScriptedCgroup;
import io.agentd.agent.sys.LibC;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecStdinCredit;
import io.agentd.protocol.payload.ExecStdinError;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A session's state machine through its seams: no child process, no epoll, no clock. */
class SessionTest {
    private final SessionHarness h = new SessionHarness();

    private void assertEachClosedOnce(int... fds) {
        for (int fd : fds) {
            assertEquals(1, h.io.closes(fd), "fd " + fd + " closed once");
        }
        assertEquals(0, h.loop.liveRegistrations(), "nothing left in the loop");
    }

    private ExecExited exited() {
        List<io.agentd.protocol.Frame> frames = h.host.of(MessageType.EXEC_EXITED);
        assertEquals(1, frames.size(), "one exited: " + h.host.types());
        return (ExecExited) frames.get(0).payload();
    }

    private void outputsEnd() {
        h.io.eof(STDOUT).eof(STDERR);
        h.loop.fire(STDOUT, Loop.READABLE);
        h.loop.fire(STDERR, Loop.READABLE);
    }

    @Test
    void startedThenOutputThenOneExitedAndEveryFdClosedOnce() {
        Session s = h.startPipes();
        assertEquals(List.of(MessageType.EXEC_STARTED), h.host.types());
        h.io.output(STDOUT, "hello ").output(STDERR, "oops");
        h.loop.fire(STDOUT, Loop.READABLE);
        h.loop.fire(STDERR, Loop.READABLE);
        h.io.output(STDOUT, "world");
        h.loop.fire(STDOUT, Loop.READABLE);
        outputsEnd();
        assertEquals(1, h.io.closes(STDOUT), "an output's fd is closed at its end");
        h.io.exit(PID, 3);
        h.loop.fire(PIDFD, Loop.READABLE);

        assertEquals("hello world", h.host.stdoutText());
        assertEquals("oops", h.host.stderrText());
        assertEquals(3, exited().code());
        assertEquals(MessageType.EXEC_EXITED, h.host.types().get(h.host.types().size() - 1));
        assertEquals(List.of(s), h.finished);
        assertEachClosedOnce(STDIN, STDOUT, STDERR, PIDFD);
        assertEquals(0, h.loop.pendingTimers());
    }

    @Test
    void outputHeldOpenByDescendantsIsReadUntilTheDrainWindowEnds() {
        h.startPipes();
        h.io.exit(PID, 0);
        h.loop.fire(PIDFD, Loop.READABLE);
        assertTrue(h.host.of(MessageType.EXEC_EXITED).isEmpty(), "outputs are open: the drain window runs");

        h.io.output(STDOUT, "late ");
        h.loop.fire(STDOUT, Loop.READABLE);
        h.loop.advance(DRAIN_MILLIS - 1);
        assertTrue(h.host.of(MessageType.EXEC_EXITED).isEmpty());

        h.io.output(STDOUT, "held").output(STDERR, "err");
        h.loop.advance(1);
        assertEquals("late held", h.host.stdoutText(), "the window's end takes what is already there");
        assertEquals("err", h.host.stderrText());
        assertEquals(0, exited().code());
        assertEachClosedOnce(STDIN, STDOUT, STDERR, PIDFD);
    }

    /** The leader exits, the host stops reading, output waits in both pipes, and the drain window ends. */
    private Session drainWindowEndsWhileTheHostReadsNothing() {
        Session s = h.startPipes();
        h.io.exit(PID, 0);
        h.loop.fire(PIDFD, Loop.READABLE);
        h.host.acceptsOutput = false;
        h.io.output(STDOUT, "held").output(STDERR, "err");
        h.loop.advance(DRAIN_MILLIS);
        return s;
    }

    /**
     * The drain window ends while the host reads nothing (its output paused): nothing more is read,
     * so sessions ending together cannot queue a pipe's worth each past the pause; the last read and
     * the exit come once the host reads again. Before, the window's end read up to 1 MiB per output
     * whatever the host's queue held.
     */
    @Test
    void theDrainWindowsLastReadWaitsForAHostThatStoppedReading() {
        Session s = drainWindowEndsWhileTheHostReadsNothing();
        assertEquals("", h.host.stdoutText(), "nothing read past the pause");
        assertTrue(h.host.of(MessageType.EXEC_EXITED).isEmpty(), "its exit waits behind the output");
        assertEquals(List.of(s), h.paused);

        h.host.acceptsOutput = true;
        s.resumeOutput();
        h.loop.advance(0);
        assertEquals("held", h.host.stdoutText(), "the last read, once the host reads again");
        assertEquals("err", h.host.stderrText());
        assertEquals(0, exited().code());
        assertEachClosedOnce(STDIN, STDOUT, STDERR, PIDFD);
    }

    /** The shutdown does not wait for a paused host: the last read that waited for it is done then. */
    @Test
    void aLastReadWaitingForAPausedHostIsDoneAtTheShutdown() {
        Session s = drainWindowEndsWhileTheHostReadsNothing();
        assertTrue(h.host.of(MessageType.EXEC_EXITED).isEmpty());

        s.agentShuttingDown(); // what the shutdown does to every session
        h.loop.advance(0);
        assertEquals("held", h.host.stdoutText(), "read whatever the host's pause");
        assertEquals("err", h.host.stderrText());
        assertEquals(0, exited().code());
        assertEachClosedOnce(STDIN, STDOUT, STDERR, PIDFD);
    }

    /**
     * The shutdown first, then the leader's end (it died of the shutdown's SIGTERM) and a drain window
     * that ends while the host reads nothing: the last read is done then too. Before, it waited for a
     * resume that never came, the shutdown waited its whole grace for the session, and the host got
     * no exited.
     */
    @Test
    void aDrainWindowEndingAfterTheShutdownBeganDoesNotWaitForAPausedHost() {
        Session s = h.startPipes();
        s.agentShuttingDown(); // what the shutdown does to every session
        h.io.exit(PID, 143);
        h.loop.fire(PIDFD, Loop.READABLE);
        h.host.acceptsOutput = false;
        h.io.output(STDOUT, "held").output(STDERR, "err");
        h.loop.advance(DRAIN_MILLIS);
        assertEquals("held", h.host.stdoutText(), "read whatever the host's pause");
        assertEquals("err", h.host.stderrText());
        assertEquals(143, exited().code());
        assertEachClosedOnce(STDIN, STDOUT, STDERR, PIDFD);
    }

    @Test
    void theDrainWindowEndsEarlyWhenEveryOutputReachesItsEnd() {
        h.startPipes();
        h.io.exit(PID, 0);
        h.loop.fire(PIDFD, Loop.READABLE);
        h.io.eof(STDOUT);
        h.loop.fire(STDOUT, Loop.READABLE);
        assertTrue(h.host.of(MessageType.EXEC_EXITED).isEmpty(), "stderr is still open");
        h.io.eof(STDERR);
        h.loop.fire(STDERR, Loop.READABLE);
        exited();
        assertEquals(0, h.loop.pendingTimers(), "the drain timer is cancelled");
        assertEachClosedOnce(STDIN, STDOUT, STDERR, PIDFD);
    }

    @Test
    void outputPausesWhileTheHostIsFullAndResumesWhenItDrains() {
        Session s = h.startPipes();
        h.host.acceptsOutput = false;
        h.io.output(STDOUT, "x");
        h.loop.fire(STDOUT, Loop.READABLE);
        assertEquals("", h.host.stdoutText(), "nothing read past the high-water mark");
        assertEquals(List.of(s), h.paused);
        assertFalse(h.loop.registration(STDOUT).reading());
        assertFalse(h.loop.registration(STDERR).reading());

        h.loop.fire(STDERR, Loop.READABLE); // a second event while paused: no second pause
        assertEquals(1, h.paused.size());

        h.host.acceptsOutput = true;
        s.resumeOutput();
        assertTrue(h.loop.registration(STDOUT).reading());
        h.loop.fire(STDOUT, Loop.READABLE);
        assertEquals("x", h.host.stdoutText());
    }

    @Test
    void stdinIsWrittenAsTheChildTakesItAndClosedOnceAfterTheLastByteOfTheEnd() {
        Session s = h.startPipes();
        h.io.room(STDIN, 2);
        s.onStdin("abc".getBytes());
        assertEquals("ab", h.io.written(STDIN), "written at once while the pipe has room");
        assertTrue(h.loop.registration(STDIN).writing(), "the rest waits for the pipe");

        s.onStdin(new byte[0]); // end of input, with a byte still queued
        assertEquals(0, h.io.closes(STDIN), "closed only once the queue is written");
        h.io.room(STDIN, 10);
        h.loop.fire(STDIN, Loop.WRITABLE);
        assertEquals("abc", h.io.written(STDIN));
        assertEquals(1, h.io.closes(STDIN));

        s.onStdin("late".getBytes());
        ExecStdinError refused = (ExecStdinError) h.host.of(MessageType.EXEC_STDIN_ERROR).get(0).payload();
        assertEquals(LibC.EPIPE, refused.errno());

        outputsEnd();
        h.io.exit(PID, 0);
        h.loop.fire(PIDFD, Loop.READABLE);
        assertEachClosedOnce(STDIN, STDOUT, STDERR, PIDFD);
        assertEquals(0, h.budget.used(), "the stdin budget is back");
    }

    @Test
    void stdinStillQueuedAtTheExitIsReportedBeforeExitedAndTheBudgetComesBack() {
        Session s = h.startPipes();
        h.io.room(STDIN, 0);
        s.onStdin("never read".getBytes());
        h.loop.fire(STDIN, Loop.WRITABLE);
        assertTrue(h.budget.used() > 0);
        outputsEnd();
        h.io.exit(PID, 0);
        h.loop.fire(PIDFD, Loop.READABLE);

        List<MessageType> types = h.host.types();
        assertEquals(List.of(MessageType.EXEC_STDIN_ERROR, MessageType.EXEC_EXITED), types.subList(types.size() - 2,
                types.size()));
        assertEquals(0, h.budget.used());
        assertEachClosedOnce(STDIN, STDOUT, STDERR, PIDFD);
    }

    @Test
    void aFailedStdinWriteIsReportedAndLaterFramesAreRefused() {
        Session s = h.startPipes();
        h.io.failWrites(STDIN, LibC.EPIPE);
        s.onStdin("abc".getBytes());
        h.loop.fire(STDIN, Loop.WRITABLE);
        assertEquals(1, h.io.closes(STDIN));
        s.onStdin("more".getBytes());
        assertEquals(2, h.host.of(MessageType.EXEC_STDIN_ERROR).size());
        outputsEnd();
        h.io.exit(PID, 0);
        h.loop.fire(PIDFD, Loop.READABLE);
        assertEachClosedOnce(STDIN, STDOUT, STDERR, PIDFD);
    }

    /**
     * A stdin frame the codec refused (the host had a core.error): what it carried is unknown, so
     * the host's later stdin is refused too (stdin.error EINVAL) and the child reads a prefix of what
     * the host sent. Before, the next frame was written after the earlier ones: a stream with a hole.
     */
    @Test
    void afterAStdinFrameTheCodecRefusedLaterFramesAreRefusedToo() {
        Session s = h.startPipes();
        s.onStdin("before ".getBytes());
        s.refuseLaterStdin("a frame refused"); // the frame after it, refused for its flags, say
        s.onStdin("after".getBytes());
        List<io.agentd.protocol.Frame> refused = h.host.of(MessageType.EXEC_STDIN_ERROR);
        assertEquals(1, refused.size(), h.host.types().toString());
        assertEquals(LibC.EINVAL, ((ExecStdinError) refused.get(0).payload()).errno());
        h.loop.fire(STDIN, Loop.WRITABLE);
        assertEquals("before ", h.io.written(STDIN), "a prefix of what the host sent");
    }

    /**
     * A pipe's stdin is first watched mid-session, when the child stops reading, where a refusal
     * by epoll has nobody to go to: the loop is told to retry it. Its output is watched at start,
     * where a refusal fails the start.
     */
    @Test
    void theStdinPipeIsMarkedForTheLoopToRetry() {
        h.startPipes();
        assertTrue(h.loop.registration(STDIN).retriesWhenRefused());
        assertFalse(h.loop.registration(STDOUT).retriesWhenRefused());
    }

    @Test
    void aHostAttachedAfterAnOverrunIsNotRefusedForTheLastHostsRefusal() {
        Session s = h.startPipes(); // no flow control: the queue limit is 1024
        h.io.room(STDIN, 0);
        s.onStdin("kept".getBytes());
        s.onStdin(new byte[1024]); // past the queue limit: refused, and so is the rest of this host's input
        s.onStdin("x".getBytes());
        List<io.agentd.protocol.Frame> refused = h.host.of(MessageType.EXEC_STDIN_ERROR);
        assertEquals(2, refused.size());
        assertEquals(LibC.ENOBUFS, ((ExecStdinError) refused.get(1).payload()).errno());
        // Each refusal says what was dropped and what happens to the rest, in a whole sentence.
        assertEquals("stdin queue full (4 of 1024 bytes queued, the process is not reading); 1024 bytes dropped;"
                + " every later stdin frame of"
                + " this session is refused too (the process reads only what came before this one)",
                ((ExecStdinError) refused.get(0).payload()).message());
        assertEquals("an earlier stdin frame of this session was refused for space, so later stdin frames are"
                + " refused (the process reads only what came before it); 1 bytes dropped",
                ((ExecStdinError) refused.get(1).payload()).message());

        s.hostLeft();
        s.rehost(true); // another host, with flow control: a fresh credit
        List<io.agentd.protocol.Frame> credits = h.host.of(MessageType.EXEC_STDIN_CREDIT);
        assertEquals(1, credits.size(), "the new host gets credit: " + h.host.types());
        long credit = ((ExecStdinCredit) credits.get(0).payload()).bytes();
        assertTrue(credit >= 3, "credit " + credit);
        s.onStdin("new".getBytes()); // within the new host's balance
        assertEquals(2, h.host.of(MessageType.EXEC_STDIN_ERROR).size(),
                "a host within its balance is never refused: " + h.host.types());
        h.io.room(STDIN, 100);
        h.loop.fire(STDIN, Loop.WRITABLE);
        assertEquals("keptnew", h.io.written(STDIN), "the first host's prefix, then the new host's input");
    }

    @Test
    void aFlowControlledSessionGetsItsWindowRightAfterStarted() {
        h.start(SessionHarness.pipes(), null, true);
        assertEquals(List.of(MessageType.EXEC_STARTED, MessageType.EXEC_STDIN_CREDIT), h.host.types());
        assertEquals(512, ((ExecStdinCredit) h.host.frames.get(1).payload()).bytes());
    }

    @Test
    void aPtyMasterIsOneFdForStdinAndStdoutAndIsClosedOnce() {
        Session s = h.start(SessionHarness.pty(), null, false);
        s.onStdin("ls\n".getBytes());
        h.loop.fire(MASTER, Loop.WRITABLE);
        assertEquals("ls\n", h.io.written(MASTER));
        s.onStdin(new byte[0]);
        assertEquals(0, h.io.closes(MASTER), "end of input is ignored on a PTY");

        h.io.output(MASTER, "out");
        h.loop.fire(MASTER, Loop.READABLE);
        h.io.eof(MASTER);
        h.loop.fire(MASTER, Loop.READABLE);
        assertEquals(0, h.io.closes(MASTER), "the master outlives its output: the session closes it");
        assertEquals(0, h.io.closes(SessionHarness.SLAVE), "the agent holds the slave while the leader lives");
        h.io.exit(PID, 0);
        h.loop.fire(PIDFD, Loop.READABLE);

        assertEquals("out", h.host.stdoutText());
        exited();
        assertEachClosedOnce(MASTER, PIDFD, SessionHarness.SLAVE);
    }

    /**
     * After the leader's reap, while descendants that left its group still hold the output open
     * (the drain window, or longer behind a host that reads nothing), a signal reaches the group
     * only while the group has members: once found empty, its id may be given to another process,
     * whose group (another session's) got this one's signals. Before, kill(-pid) went out until the
     * session let go of its fds.
     */
    @Test
    void aSignalAfterTheLeadersReapGoesOnlyToAGroupWithMembers() {
        Session s = h.startPipes();
        h.io.groupAlive(PID, true);
        h.io.exit(PID, 0);
        h.loop.fire(PIDFD, Loop.READABLE);
        assertFalse(s.isDone(), "its outputs are open: the drain window runs");
        assertEquals(0, s.signalGroup(LibC.SIGTERM), "members live: they hold the group's id");
        assertEquals(List.of(PID + ":" + LibC.SIGTERM), h.io.signals);

        h.io.groupAlive(PID, false);
        assertEquals(LibC.ESRCH, s.signalGroup(LibC.SIGTERM));
        h.io.groupAlive(PID, true); // the id given to another process group meanwhile
        assertEquals(LibC.ESRCH, s.signalGroup(LibC.SIGKILL), "a group found empty is never signalled again");
        assertEquals(1, h.io.signals.size(), "no kill(2) to the id once its group was found empty: " + h.io.signals);
    }

    /**
     * The group empties while no one looks (its last member exits between two signals) and its id
     * goes to a new process that leads a group by it, another host's session say: kill(-id, 0)
     * finds a group again, but it is not this session's. A process holding the number tells them
     * apart (the kernel hands out no pid a live group still uses as its id). Found by review: the
     * host's SIGKILL reached the newcomer's group.
     */
    @Test
    void aSignalAfterTheGroupEmptiedUnseenDoesNotReachTheNextOwnerOfItsId() {
        Session s = h.startPipes();
        h.io.groupAlive(PID, true);
        h.io.exit(PID, 0);
        h.loop.fire(PIDFD, Loop.READABLE);
        assertEquals(0, s.signalGroup(LibC.SIGTERM), "members live: they hold the group's id");
        // the last member exits, unseen; the pid is handed out again and its process leads a group
        h.io.processAlive(PID, true);
        assertEquals(LibC.ESRCH, s.signalGroup(LibC.SIGKILL));
        assertEquals(List.of(PID + ":" + LibC.SIGTERM), h.io.signals, "no kill(2) to the newcomer's group");
        h.io.processAlive(PID, false);
        assertEquals(LibC.ESRCH, s.signalGroup(LibC.SIGKILL), "a group found gone is never signalled again");
    }

    /**
     * The agent's hold on the slave goes when the leader exits, before the drain window, so that the
     * master reads EIO once the last descendant lets go of the terminal; and once only, whatever ends
     * the session after.
     */
    @Test
    void aPtySessionLetsGoOfItsSlaveWhenTheLeaderExitsAndOnce() {
        ScriptedCgroup cgroup = new ScriptedCgroup();
        Session s = h.start(SessionHarness.pty(), null, false, cgroup);
        h.io.exit(PID, 0);
        h.loop.fire(PIDFD, Loop.READABLE);
        assertEquals(1, h.io.closes(SessionHarness.SLAVE), "let go at the leader's exit");
        assertFalse(s.isDone(), "the master is still open: the drain window runs");
        s.abandon();
        assertEquals(1, h.io.closes(SessionHarness.SLAVE), "not closed again");
        assertEquals(1, h.io.closes(MASTER));
    }

    @Test
    void theDeadlineSendsSigtermThenSigkillAfterTheGraceAndExitedSaysTimedOut() {
        h.start(SessionHarness.pipes(), 1000L, false);
        h.io.groupAlive(PID, true);
        h.loop.advance(1000);
        assertEquals(List.of(PID + ":" + LibC.SIGTERM), h.io.signals);
        h.loop.advance(GRACE_MILLIS);
        assertEquals(List.of(PID + ":" + LibC.SIGTERM, PID + ":" + LibC.SIGKILL), h.io.signals);

        outputsEnd();
        h.io.killedBy(PID, LibC.SIGKILL);
        h.loop.fire(PIDFD, Loop.READABLE);
        ExecExited exited = exited();
        assertEquals(LibC.SIGKILL, exited.signal());
        assertEquals(Boolean.TRUE, exited.timedOut());
    }

    @Test
    void aLeaderThatExitsBeforeItsDeadlineCancelsIt() {
        h.start(SessionHarness.pipes(), 1000L, false);
        outputsEnd();
        h.io.exit(PID, 0);
        h.loop.fire(PIDFD, Loop.READABLE);
        h.loop.advance(10_000);
        assertEquals(List.of(), h.io.signals);
        assertEquals(null, exited().timedOut());
    }

    /**
     * The leader exits by itself just before its deadline, and the deadline's timer runs before the
     * loop handles the pidfd's readiness (the same round of the loop, or a loop behind): the exit is
     * the leader's own, so no signal, no timed_out, and its cgroup is not killed at the end.
     */
    @Test
    void aLeaderThatExitedBeforeItsDeadlineIsNotTimedOutWhenTheDeadlineIsHandledFirst() {
        ScriptedCgroup cgroup = new ScriptedCgroup();
        cgroup.populated = false;
        h.start(SessionHarness.pipes(), 1000L, false, cgroup);
        h.io.groupAlive(PID, true);
        outputsEnd();
        h.io.exit(PID, 5); // a zombie now; its pidfd is readable, not yet handled
        h.loop.advance(1000);
        assertEquals(List.of(), h.io.signals, "no SIGTERM to a leader that has exited");

        h.loop.fire(PIDFD, Loop.READABLE);
        h.loop.advance(GRACE_MILLIS);
        assertEquals(List.of(), h.io.signals, "no SIGKILL after a grace either");
        ExecExited exited = exited();
        assertEquals(5, exited.code());
        assertEquals(null, exited.signal());
        assertEquals(null, exited.timedOut());
        assertEquals(0, cgroup.kills, "its background processes are not killed, as after any exit of its own");
    }

    /**
     * A deadline of 0 meets a leader the sweep reaped before the session was registered (its exit
     * follows in a moment): it exited by itself, so it is not timed out.
     */
    @Test
    void aDeadlineDueWhenTheLeaderWasReapedBeforeRegistrationDoesNotTimeItOut() {
        Session s = h.start(SessionHarness.pipes(), 0L, false);
        s.leaderReapedBeforeRegistration();
        h.loop.advance(0);
        outputsEnd();
        s.onLeaderExit(3 << 8);
        assertEquals(List.of(), h.io.signals);
        assertEquals(null, exited().timedOut());
        assertEquals(3, exited().code());
    }

    /**
     * The leader begins its exit by itself between the deadline's look and its SIGTERM and ends
     * with its own code: it leaves SIGTERM alone, so the signal would have ended it with the
     * signal's status; its code says its exit came first: not timed out.
     */
    @Test
    void aLeaderWhoseOwnExitBeganAsTheSigtermCameIsNotTimedOut() {
        h.start(SessionHarness.pipes(), 1000L, false);
        h.io.groupAlive(PID, true);
        h.io.exitsAsItsGroupIsSignalled(PID, 5);
        h.loop.advance(1000);
        assertEquals(List.of(PID + ":" + LibC.SIGTERM), h.io.signals);
        outputsEnd();
        h.loop.fire(PIDFD, Loop.READABLE);
        ExecExited exited = exited();
        assertEquals(5, exited.code());
        assertEquals(null, exited.signal());
        assertEquals(null, exited.timedOut());
    }

    /** The same race, but the SIGTERM's own kill: the status names the signal, and it is timed out. */
    @Test
    void aLeaderKilledByTheSigtermIsTimedOutEvenIfItsExitBeganByTheLookAfterIt() {
        h.start(SessionHarness.pipes(), 1000L, false);
        h.io.groupAlive(PID, true);
        h.io.exitsAsItsGroupIsSignalled(PID, 0);
        h.loop.advance(1000);
        h.io.killedBy(PID, LibC.SIGTERM);
        outputsEnd();
        h.loop.fire(PIDFD, Loop.READABLE);
        assertEquals(LibC.SIGTERM, exited().signal());
        assertEquals(Boolean.TRUE, exited().timedOut());
    }

    /**
     * A leader running at its deadline that handles SIGTERM is timed out however it ends: here with
     * a code of its own, its handler's exit.
     */
    @Test
    void aLeaderRunningAtItsDeadlineIsTimedOutEvenWhenItExitsWithItsOwnCode() {
        h.start(SessionHarness.pipes(), 1000L, false);
        h.io.groupAlive(PID, true);
        h.io.handlesSigterm(PID);
        h.loop.advance(1000);
        assertEquals(List.of(PID + ":" + LibC.SIGTERM), h.io.signals);
        outputsEnd();
        h.io.exit(PID, 0);
        h.loop.fire(PIDFD, Loop.READABLE);
        ExecExited exited = exited();
        assertEquals(0, exited.code());
        assertEquals(null, exited.signal());
        assertEquals(Boolean.TRUE, exited.timedOut());
    }

    @Test
    void abandonKillsTheGroupSendsNothingAndClosesEveryFdOnce() {
        Session s = h.start(SessionHarness.pipes(), 1000L, false);
        s.onStdin("queued".getBytes());
        h.io.output(STDOUT, "unread");
        s.abandon();
        s.abandon();
        assertEquals(List.of(PID + ":" + LibC.SIGKILL), h.io.signals);
        assertEquals(List.of(MessageType.EXEC_STARTED), h.host.types(), "nothing on the wire");
        assertEachClosedOnce(STDIN, STDOUT, STDERR, PIDFD);
        assertEquals(0, h.loop.pendingTimers());
        assertEquals(0, h.budget.used());
        assertTrue(h.finished.isEmpty());
    }

    /**
     * A timed-out PTY session whose cgroup is still populated after the kill: finish has released
     * its fds and waits for the cgroup to empty, still registered (as on a shutdown, too).
     */
    private Session waitingForItsKilledCgroup(ScriptedCgroup cgroup) {
        Session s = h.start(SessionHarness.pty(), 100L, false, cgroup);
        h.loop.advance(100); // the deadline: SIGTERM, and the cgroup is killed at the end
        h.io.eof(MASTER);
        h.loop.fire(MASTER, Loop.READABLE);
        h.io.killedBy(PID, LibC.SIGTERM);
        h.loop.fire(PIDFD, Loop.READABLE);
        assertEquals(1, cgroup.kills, "finish killed the cgroup");
        assertTrue(h.host.of(MessageType.EXEC_EXITED).isEmpty(), "exited waits for the cgroup to empty");
        assertFalse(s.isDone());
        assertEquals(1, h.io.closes(PIDFD));
        assertEquals(1, h.io.closes(MASTER));
        return s;
    }

    /** Its host lost meanwhile abandons it: the pidfd's and master's numbers (maybe others' fds by now) are not closed again. */
    @Test
    void aSessionAbandonedWhileItsKilledCgroupEmptiesClosesItsFdsOnce() {
        ScriptedCgroup cgroup = new ScriptedCgroup();
        Session s = waitingForItsKilledCgroup(cgroup);
        int signalsBefore = h.io.signals.size();
        s.abandon();

        assertEquals(1, h.io.closes(PIDFD), "pidfd closed once");
        assertEquals(1, h.io.closes(MASTER), "master closed once");
        assertEquals(signalsBefore, h.io.signals.size(), "no signal to a reaped leader's pid");
        assertEquals(2, cgroup.kills, "what is left in the cgroup is killed again");
        assertEquals(0, h.loop.liveRegistrations());
        assertEquals(0, h.loop.pendingTimers());
        assertTrue(s.isDone());
        assertTrue(h.host.of(MessageType.EXEC_EXITED).isEmpty(), "abandoned: nothing on the wire");
        assertTrue(h.finished.isEmpty());
    }

    /** A resize in that window is a no-op: no ioctl on the closed master's number. */
    @Test
    void aResizeWhileItsKilledCgroupEmptiesDoesNotTouchTheClosedMaster() throws Exception {
        ScriptedCgroup cgroup = new ScriptedCgroup();
        Session s = waitingForItsKilledCgroup(cgroup);
        s.resize(30, 100);
        assertEquals(List.of(), h.io.resizes);
        assertEquals(LibC.ESRCH, s.signalGroup(LibC.SIGTERM), "nor a signal to the reaped leader's pid");
        cgroup.populated = false;
        h.loop.advance(10);
        assertEquals(LibC.SIGTERM, exited().signal());
        assertEquals(1, h.finished.size());
        assertEachClosedOnce(MASTER, PIDFD);
    }

    @Test
    void aLeaderReapedTwiceEndsTheSessionOnce() {
        Session s = h.startPipes();
        outputsEnd();
        s.onLeaderExit(0);
        s.onLeaderExit(0);
        assertEquals(1, h.host.of(MessageType.EXEC_EXITED).size());
        assertEquals(1, h.finished.size());
    }

    @Test
    void splicedBytesThatADroppedQueueLeftInThePipeAreCountedOnce() {
        h.host.acceptsSplicedData = true;
        Session s = h.startPipes();
        h.io.output(STDOUT, "x".repeat(OutputPump.SPLICE_MIN)); // copied; the next read may splice
        h.loop.fire(STDOUT, Loop.READABLE);
        h.io.output(STDOUT, "y".repeat(BulkPipes.DEFAULT_PIPE_BYTES));
        h.loop.fire(STDOUT, Loop.READABLE);
        assertEquals(OutputPump.SPLICE_MIN + BulkPipes.DEFAULT_PIPE_BYTES, s.route.offset(), "announced");
        // The host left before the queue wrote them: it dropped the frame and left all of it in the pipe.
        h.host.splicedPending.remove(0).accept(BulkPipes.DEFAULT_PIPE_BYTES);
        assertEquals(OutputPump.SPLICE_MIN, s.route.offset(), "offsets count only bytes that left the pipe");
        assertEquals(OutputPump.SPLICE_MIN, s.bytesOut());
        h.loop.fire(STDOUT, Loop.READABLE); // read from the pipe again, and counted then
        assertEquals(OutputPump.SPLICE_MIN + BulkPipes.DEFAULT_PIPE_BYTES, s.route.offset());
        assertEquals(OutputPump.SPLICE_MIN + BulkPipes.DEFAULT_PIPE_BYTES, s.bytesOut());
    }

    @Test
    void bulkPipeOutputIsSplicedItsPipeEnlargedOnceAndGivenBackAtItsEnd() {
        h.host.acceptsSplicedData = true;
        h.startPipes();
        h.io.output(STDOUT, "x".repeat(OutputPump.SPLICE_MIN)); // a bulk read: worth asking next time
        h.loop.fire(STDOUT, Loop.READABLE);
        assertEquals(OutputPump.SPLICE_MIN, h.host.stdoutText().length());

        h.io.output(STDOUT, "y".repeat(BulkPipes.DEFAULT_PIPE_BYTES)); // the pipe is full: a bulk writer
        h.loop.fire(STDOUT, Loop.READABLE);
        assertEquals(BulkPipes.DEFAULT_PIPE_BYTES, h.host.splicedBytes, "announced, left in the pipe");
        assertEquals(1, h.bulkPipes.enlarged());
        assertFalse(h.loop.registration(STDOUT).reading(), "the queue owns the pipe's first bytes");

        h.host.splicedPending.remove(0).accept(0); // the queue moved them to the port
        assertTrue(h.loop.registration(STDOUT).reading());

        h.io.output(STDOUT, "z".repeat(BulkPipes.DEFAULT_PIPE_BYTES));
        h.loop.fire(STDOUT, Loop.READABLE);
        assertEquals(1, h.bulkPipes.enlarged(), "enlarged once");
        h.io.exit(PID, 0);
        h.loop.fire(PIDFD, Loop.READABLE);
        h.loop.advance(DRAIN_MILLIS); // still announced at the window's end: the queue takes it out first
        assertEquals(List.of(STDOUT), h.host.takenOutOf);
        assertEquals(0, h.bulkPipes.enlarged(), "the enlarged pipe is given back");
        exited();
        assertEachClosedOnce(STDIN, STDOUT, STDERR, PIDFD);
    }
}
