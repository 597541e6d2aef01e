package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.transport.RecordingHost;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Who owns which session, on a scripted loop: each connection has its own ids, a host's loss (or a
 * relay client's) ends or detaches only what it owned, and backpressure is per connection. Session
 * n (from 0) is pid 100+n with stdin 10n+10, stdout 10n+11, stderr 10n+12, pidfd 10n+13.
 */
class SessionsOwnershipTest {
    private final ScriptedLoop loop = new ScriptedLoop();
    private final RecordingHost outA = new RecordingHost();
    private final RecordingHost outB = new RecordingHost();
    private final SessionHost a = new SessionHost(1, outA);
    private final SessionHost b = new SessionHost(2, outB);
    private final ScriptedSessions scripted = new ScriptedSessions(loop, child(0), child(1), child(2), child(3));

    private static Child child(int n) {
        return new Child(100 + n, 10 * n + 13, 10 * n + 10, 10 * n + 11, 10 * n + 12, false);
    }

    private void start(SessionHost host, long id) {
        scripted.sessions.onExecRequest(host, id, ExecRequest.of("sleep", "60"));
        assertTrue(scripted.sessions.isRunning(host, id));
    }

    @Test
    void eachConnectionHasItsOwnIds() {
        start(a, 5);
        start(b, 5); // the same id on another connection: another session
        assertEquals(List.of(MessageType.EXEC_STARTED), outA.types());
        assertEquals(List.of(MessageType.EXEC_STARTED), outB.types());
        scripted.sessions.onExecRequest(a, 5, ExecRequest.of("true"));
        assertEquals(MessageType.CORE_ERROR, outA.types().get(1), "id 5 runs on connection 1");
        assertEquals(1, outB.types().size());
    }

    @Test
    void killingAConnectionsSessionsLeavesTheOtherConnectionsAlone() {
        start(a, 5);
        start(a, 6);
        start(b, 5);
        scripted.sessions.killOwned(1, id -> true);
        assertEquals(List.of("100:" + LibC.SIGKILL, "101:" + LibC.SIGKILL), scripted.signals());
        assertFalse(scripted.sessions.isRunning(a, 5));
        assertTrue(scripted.sessions.isRunning(b, 5));
        assertEquals(1, scripted.sessions.count());
        assertEquals(List.of(MessageType.EXEC_STARTED, MessageType.EXEC_STARTED), outA.types(), "nothing sent");
    }

    @Test
    void aRelayClientsRangeKillsExactlyItsSessions() {
        start(a, 5);
        start(a, 6);
        start(b, 6);
        scripted.sessions.killOwned(1, id -> id >= 6 && id < 7);
        assertEquals(List.of("101:" + LibC.SIGKILL), scripted.signals());
        assertTrue(scripted.sessions.isRunning(a, 5));
        assertTrue(scripted.sessions.isRunning(b, 6));
    }

    @Test
    void aDetachedSessionRunsOnKeepsItsOutputAndFreesItsId() {
        start(a, 5);
        scripted.sessions.detachOwned(1, id -> true);
        assertEquals(List.of(), scripted.signals());
        assertEquals(1, scripted.sessions.count(), "it runs on");
        assertFalse(scripted.sessions.isRunning(a, 5), "its id is free");

        scripted.output(11, "unread");
        loop.fire(11, Loop.READABLE);
        assertEquals(List.of(MessageType.EXEC_STARTED), outA.types(), "no host: nothing is sent");
        Session s = scripted.sessions.all().iterator().next();
        assertEquals(6, s.route.ring().end(), "the output is read into the session's ring, for an attach");
        assertEquals(0, s.route.ring().start());

        start(a, 5); // the id's next owner gets a session of its own
        assertEquals(2, scripted.sessions.count());
    }

    @Test
    void aRetargetedSessionSendsToItsNewHostUnderItsNewId() {
        start(a, 5);
        scripted.sessions.detachOwned(1, id -> true);
        scripted.output(11, "kept");
        loop.fire(11, Loop.READABLE); // no host: into the ring
        Session s = scripted.sessions.all().iterator().next();
        s.route.retarget(b, 9);
        assertTrue(scripted.sessions.routed(s));
        assertTrue(scripted.sessions.isRunning(b, 9));
        scripted.output(11, "live");
        loop.fire(11, Loop.READABLE);
        assertEquals(List.of(MessageType.EXEC_STDOUT), outB.types());
        assertEquals(9, outB.frames.get(0).id());
        assertEquals("live", outB.stdoutText());
        assertEquals(8, s.route.ring().end(), "recorded while sent, too");
    }

    @Test
    void anAttachReplaysTheKeptOutputThenLiveOutputGoesToTheAttacher() {
        start(a, 5);
        scripted.sessions.detachOwned(1, id -> true);
        scripted.output(11, "kept");
        loop.fire(11, Loop.READABLE);
        scripted.sessions.onAttach(b, 9, new io.agentd.protocol.payload.SessionAttach(1, 2L, false));
        assertEquals(List.of(MessageType.SESSION_ATTACHED, MessageType.EXEC_STDOUT), outB.types());
        assertEquals(new io.agentd.protocol.payload.SessionAttached(1, 100, false, 2, 0), outB.frames.get(0).payload());
        assertEquals("pt", new String(((io.agentd.protocol.payload.ExecData) outB.frames.get(1).payload()).data(),
                java.nio.charset.StandardCharsets.UTF_8), "the kept bytes from offset 2, as a frame");
        scripted.sessions.onAttach(a, 3, new io.agentd.protocol.payload.SessionAttach(1, null, false));
        assertEquals(MessageType.CORE_ERROR, outA.types().get(outA.types().size() - 1), "one host at a time");
        scripted.output(11, "live");
        loop.fire(11, Loop.READABLE);
        assertEquals("live", outB.stdoutText(), "live output, read and sent as it comes");
    }

    /**
     * A host killed a moment ago still holds its session until the loop hears its hang-up, which
     * may come after another host's attach in the same turn: the attach runs that hang-up first.
     */
    @Test
    void anAttachToASessionWhoseHostHasGoneUnheardRunsThatHangUpFirstAndSucceeds() {
        start(a, 5);
        outA.goneWithoutHangUp = () -> scripted.sessions.detachOwned(1, id -> true); // a's host-loss policy
        scripted.sessions.onAttach(b, 9, new io.agentd.protocol.payload.SessionAttach(1, null, false));
        assertEquals(List.of(MessageType.SESSION_ATTACHED), outB.types());
        assertTrue(scripted.sessions.isRunning(b, 9));
        assertFalse(scripted.sessions.isRunning(a, 5));
    }

    /** b attaches to session 1 on id 9: the flag turns true once the attach is answered. */
    private boolean[] attachFromB() {
        boolean[] answered = {false};
        scripted.sessions.onAttach(b, 9, new io.agentd.protocol.payload.SessionAttach(1, null, false),
                () -> answered[0] = true);
        return answered;
    }

    /** Session 1's leader (pid 100) exits with 3, its outputs end, and the drain window and a few retries pass. */
    private void exitAndDrain() {
        scripted.exit(100, 3);
        scripted.eof(11);
        scripted.eof(12);
        loop.fire(13, Loop.READABLE);
        loop.fire(11, Loop.READABLE);
        loop.fire(12, Loop.READABLE);
        loop.advance(1000);
    }

    /**
     * An attach to a session whose holder has gone while a command of its is being started (its
     * hang-up waits for that start): answered once the hang-up has run, not refused "attached to
     * another host" (a host that has closed holds nothing); the attacher's frames wait meanwhile.
     */
    @Test
    void anAttachWaitsForTheHangUpOfAHolderWhoseCommandIsBeingStarted() {
        start(a, 5);
        outA.hangUpPending = true;
        boolean[] answered = attachFromB();
        loop.advance(500);
        assertEquals(List.of(), outB.types(), "no answer while the holder's hang-up is pending");
        assertFalse(answered[0]);

        outA.hangUpPending = false; // the start answered: the hang-up runs
        outA.goneWithoutHangUp = () -> scripted.sessions.detachOwned(1, id -> true); // a's host-loss policy
        loop.advance(10);
        assertEquals(List.of(MessageType.SESSION_ATTACHED), outB.types());
        assertTrue(answered[0]);
        assertTrue(scripted.sessions.isRunning(b, 9));
    }

    /** A holder's hang-up that stays pending holds an attach up for a bounded time only. */
    @Test
    void anAttachWaitsForAPendingHangUpOnlySoLong() {
        start(a, 5);
        outA.hangUpPending = true;
        boolean[] answered = attachFromB();
        loop.advance(java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(Attachments.HOLDER_HANG_UP_WAIT_NANOS) + 10);
        assertTrue(answered[0]);
        assertEquals(List.of(MessageType.CORE_ERROR), outB.types(), "refused as things stand: attached to a");
    }

    /**
     * A detachable session exits while its host, gone, has a command being started (the spawn off
     * the loop): the host's hang-up cannot run before that is answered, and the exit waits for it
     * instead of going to the gone host (and with it, lost to the attach the session was kept for).
     */
    @Test
    void anExitWhoseHostsHangUpWaitsForAStartWaitsForThatHangUp() {
        scripted.sessions.onExecRequest(a, 5, ExecRequest.of("sleep", "60").withDetachable(true));
        outA.hangUpPending = true;
        exitAndDrain();
        assertEquals(List.of(MessageType.EXEC_STARTED), outA.types(), "no exit for the gone host");

        outA.hangUpPending = false; // the start answered: the hang-up can run now
        outA.goneWithoutHangUp = () -> scripted.sessions.detachOwned(1, id -> true); // a's host-loss policy
        loop.advance(10);
        assertEquals(List.of(MessageType.EXEC_STARTED), outA.types(), "detached by the hang-up first");
        scripted.sessions.onAttach(b, 9, new io.agentd.protocol.payload.SessionAttach(1, null, false));
        assertEquals(MessageType.EXEC_EXITED, outB.types().get(outB.types().size() - 1),
                "the exit, held for the attach");
    }

    /**
     * A detachable session exits while its host is gone and its hang-up can run: but the frames that
     * hang-up dispatches first start a command (or make the link drop the host), so the hang-up is
     * pending after it ran. The exit waits for it then too (it went to the gone host, and was lost).
     */
    @Test
    void anExitWaitsWhenTheGoneHostsLastFramesLeaveItsHangUpPending() {
        scripted.sessions.onExecRequest(a, 5, ExecRequest.of("sleep", "60").withDetachable(true));
        outA.goneWithoutHangUp = () -> outA.hangUpPending = true; // its last frame: an exec.request being started
        exitAndDrain();
        assertEquals(List.of(MessageType.EXEC_STARTED), outA.types(), "no exit for the gone host");

        outA.hangUpPending = false; // the start answered: the hang-up runs
        outA.goneWithoutHangUp = () -> scripted.sessions.detachOwned(1, id -> true); // a's host-loss policy
        loop.advance(10);
        scripted.sessions.onAttach(b, 9, new io.agentd.protocol.payload.SessionAttach(1, null, false));
        assertEquals(MessageType.EXEC_EXITED, outB.types().get(outB.types().size() - 1),
                "the exit, held for the attach");
    }

    /**
     * Two gone hosts attaching to each other's session, neither's hang-up heard yet: b's attach runs
     * a's hang-up, whose last frame attaches to b's session. That must not run b's hang-up under b's
     * own attach, which would then route a's session to b after b's host-loss policy had run: held by
     * a connection that is over, for ever. b's hang-up comes as epoll reports it, and lets it go.
     */
    @Test
    void aGoneHostsAttachDoesNotRunTheHangUpOfTheHostWhoseAttachRanIt() {
        start(a, 5); // session 1
        start(b, 7); // session 2
        outB.goneWithoutHangUp = () -> scripted.sessions.detachOwned(2, id -> true);
        outA.goneWithoutHangUp = () -> {
            scripted.sessions.onAttach(a, 10, new io.agentd.protocol.payload.SessionAttach(2, null, false));
            scripted.sessions.detachOwned(1, id -> true);
        };
        scripted.sessions.onAttach(b, 20, new io.agentd.protocol.payload.SessionAttach(1, null, false));
        Runnable bHangUp = outB.goneWithoutHangUp; // epoll's report of b's hang-up, unless it ran already
        if (bHangUp != null) {
            bHangUp.run();
        }
        RecordingHost outC = new RecordingHost();
        SessionHost c = new SessionHost(3, outC);
        scripted.sessions.onAttach(c, 30, new io.agentd.protocol.payload.SessionAttach(1, null, false));
        assertEquals(List.of(MessageType.SESSION_ATTACHED), outC.types(), "session 1 was let go, and c takes it");
        scripted.sessions.onAttach(c, 31, new io.agentd.protocol.payload.SessionAttach(2, null, false));
        assertEquals(MessageType.SESSION_ATTACHED, outC.types().get(outC.types().size() - 1), "and session 2");
    }

    /** Session 1 (pid 100): both its outputs end, then its leader exits with {@code code}. */
    private void outputsEndThenExits(int code) {
        scripted.eof(11);
        scripted.eof(12);
        loop.fire(11, Loop.READABLE);
        loop.fire(12, Loop.READABLE);
        scripted.exit(100, code);
        loop.fire(13, Loop.READABLE);
    }

    /**
     * A detachable session exits after its host closed but before the loop heard the hang-up: the
     * exit is held for an attach, not sent to the closed connection (which drops it) and collected.
     */
    @Test
    void theExitOfADetachableSessionWhoseHostHasGoneUnheardIsHeldForAnAttach() {
        scripted.sessions.onExecRequest(a, 5, ExecRequest.of("true").withDetachable(true)); // session 1
        outA.goneWithoutHangUp = () -> scripted.sessions.detachOwned(1, id -> true);
        outputsEndThenExits(3); // session 1 (pid 100)
        assertEquals(List.of(MessageType.EXEC_STARTED), outA.types(), "nothing more to the closed connection");

        scripted.sessions.onAttach(b, 9, new io.agentd.protocol.payload.SessionAttach(1, null, false));
        assertEquals(List.of(MessageType.SESSION_ATTACHED, MessageType.EXEC_EXITED), outB.types());
        assertEquals(3, ((io.agentd.protocol.payload.ExecExited) outB.of(MessageType.EXEC_EXITED).get(0).payload()).code());
    }

    /**
     * The same for a session that was detached once and attached again (it keeps output from then
     * on, so its host's loss detaches it again whatever the policy): its exit, as that host closes
     * unheard, is held for the next attach. Before, only a detachable session's was.
     */
    @Test
    void theExitOfAReattachedSessionWhoseHostHasGoneUnheardIsHeldForTheNextAttach() {
        start(a, 5); // session 1, not detachable
        scripted.sessions.onDetach(a, 5);
        scripted.sessions.onAttach(b, 9, new io.agentd.protocol.payload.SessionAttach(1, null, false));
        assertEquals(MessageType.SESSION_ATTACHED, outB.types().get(0));
        outB.goneWithoutHangUp = () -> scripted.sessions.killOwned(2, id -> true); // the kill policy: kept all the same
        outputsEndThenExits(3); // session 1 (pid 100)
        assertFalse(outB.types().contains(MessageType.EXEC_EXITED), "nothing more to the closed connection: " + outB.types());

        scripted.sessions.onAttach(a, 7, new io.agentd.protocol.payload.SessionAttach(1, null, false));
        assertEquals(MessageType.EXEC_EXITED, outA.types().get(outA.types().size() - 1), outA.types().toString());
        assertEquals(3, ((io.agentd.protocol.payload.ExecExited) outA.of(MessageType.EXEC_EXITED).get(0).payload()).code());
    }

    /** Under --on-host-loss keep, a session's exit as its host closes unheard is held for an attach too. */
    @Test
    void underTheKeepPolicyTheExitOfASessionWhoseHostHasGoneUnheardIsHeld() {
        RecordingHost outK = new RecordingHost();
        SessionHost k = new SessionHost(3, outK, id -> false, true);
        scripted.sessions.onExecRequest(k, 5, ExecRequest.of("sleep", "60")); // session 1
        outK.goneWithoutHangUp = () -> scripted.sessions.detachOwned(3, id -> true);
        outputsEndThenExits(4); // session 1 (pid 100)
        assertEquals(List.of(MessageType.EXEC_STARTED), outK.types(), "nothing more to the closed connection");

        scripted.sessions.onAttach(b, 9, new io.agentd.protocol.payload.SessionAttach(1, null, false));
        assertEquals(List.of(MessageType.SESSION_ATTACHED, MessageType.EXEC_EXITED), outB.types());
    }

    /** A list on the id of a running session is refused: its answer would end that session for the host. */
    @Test
    void aListOnTheIdOfARunningSessionIsRefused() {
        start(a, 5);
        scripted.sessions.onList(a, 5);
        assertEquals(List.of(MessageType.EXEC_STARTED, MessageType.CORE_ERROR), outA.types());
        scripted.sessions.onList(b, 5); // the same id on another connection is free
        assertEquals(List.of(MessageType.SESSION_LIST_RESULT), outB.types());
    }

    @Test
    void aDrainingLinkResumesOnlyItsOwnSessions() {
        start(a, 5);
        start(b, 5);
        outA.acceptsOutput = false;
        outB.acceptsOutput = false;
        scripted.output(11, "a");
        scripted.output(21, "b");
        loop.fire(11, Loop.READABLE);
        loop.fire(21, Loop.READABLE);
        outA.acceptsOutput = true;
        outB.acceptsOutput = true;
        scripted.sessions.onOutputResumed(a);
        loop.fire(11, Loop.READABLE);
        loop.fire(21, Loop.READABLE);
        assertEquals("a", outA.stdoutText());
        assertEquals("", outB.stdoutText(), "connection 2 has not drained: its session stays paused");
        scripted.sessions.onOutputResumed(b);
        loop.fire(21, Loop.READABLE);
        assertEquals("b", outB.stdoutText());
    }
}
