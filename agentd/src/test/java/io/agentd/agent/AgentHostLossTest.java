package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.session.ScriptedSessions;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.transport.HostLossPolicy;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.RelayClientRange;
import io.agentd.protocol.payload.SessionAttach;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The host-loss policy as the agent applies it per connection, on a scripted loop: no agent
 * process, no child. Session n (from 0) is pid 100+n with fds 10n+10 (stdin) to 10n+13 (pidfd).
 */
class AgentHostLossTest {
    private final ScriptedLoop loop = new ScriptedLoop();
    private final ScriptedSessions scripted = new ScriptedSessions(loop, child(0), child(1), child(2));
    private final Agent agent = new Agent(loop, scripted.sessions, new Agent.StartTimes(0, 0), "test",
            new Agent.LinkSettings(1 << 20, 0, 0), 2);

    private static Child child(int n) {
        return new Child(100 + n, 10 * n + 13, 10 * n + 10, 10 * n + 11, 10 * n + 12, false);
    }

    private Connection socket(HostLossPolicy policy) {
        return agent.accept("test", policy);
    }

    private void startSession(Connection c, long id) {
        c.onFrame(new Frame(id, MessageType.EXEC_REQUEST, ExecRequest.of("sleep", "60")));
        assertTrue(scripted.sessions.isRunning(c.sessionHost(), id));
    }

    @Test
    void killSessionsKillsEachGroupOfThatConnectionSendsNothingAndReleasesEveryFd() {
        Connection a = socket(HostLossPolicy.KILL_SESSIONS);
        Connection b = socket(HostLossPolicy.KILL_SESSIONS);
        startSession(a, 5);
        startSession(b, 5);
        long queued = a.link().queuedBytes();
        a.hostLost(true);
        assertEquals(List.of(100 + ":" + LibC.SIGKILL), scripted.signals());
        assertTrue(scripted.sessions.isRunning(b.sessionHost(), 5), "the other connection's session runs on");
        assertEquals(queued, a.link().queuedBytes(), "no exited for a host that is gone");
        for (int fd = 10; fd <= 13; fd++) {
            assertEquals(1, scripted.closes(fd), "fd " + fd);
        }
        assertEquals(0, scripted.closes(21));
        assertFalse(loop.stopped());
    }

    @Test
    void theConnectionLimitCountsOpenSocketConnectionsOnly() {
        Connection a = socket(HostLossPolicy.KILL_SESSIONS);
        socket(HostLossPolicy.KILL_SESSIONS);
        agent.openPort("port", HostLossPolicy.KEEP_SESSIONS);
        assertNull(agent.accept("third", HostLossPolicy.KILL_SESSIONS));
        a.hostLost(true);
        assertTrue(agent.accept("third", HostLossPolicy.KILL_SESSIONS) != null, "a place came free");
    }

    @Test
    void keepSessionsOnAPortLeavesThemRoutedForTheHostsReturn() {
        Connection port = (Connection) agent.openPort("port", HostLossPolicy.KEEP_SESSIONS);
        startSession(port, 5);
        port.hostLost(false);
        assertEquals(List.of(), scripted.signals());
        assertTrue(scripted.sessions.isRunning(port.sessionHost(), 5));

        scripted.eof(11);
        scripted.eof(12);
        loop.fire(11, Loop.READABLE);
        loop.fire(12, Loop.READABLE);
        long queued = port.link().queuedBytes();
        scripted.exit(100, 0);
        loop.fire(13, Loop.READABLE);
        assertTrue(port.link().queuedBytes() > queued, "its exited is queued for the host");
    }

    @Test
    void keepSessionsOnASocketDetachesThem() {
        Connection a = socket(HostLossPolicy.KEEP_SESSIONS);
        startSession(a, 5);
        a.hostLost(true);
        assertEquals(List.of(), scripted.signals());
        assertEquals(1, scripted.sessions.count(), "it runs on");
        assertFalse(scripted.sessions.isRunning(a.sessionHost(), 5), "without a host");
    }

    @Test
    void aDetachedSessionsExitWaitsForAnAttachFromAnotherConnection() {
        Connection a = socket(HostLossPolicy.KEEP_SESSIONS);
        startSession(a, 5);
        a.hostLost(true);
        scripted.eof(11);
        scripted.eof(12);
        loop.fire(11, Loop.READABLE);
        loop.fire(12, Loop.READABLE);
        scripted.exit(100, 0);
        loop.fire(13, Loop.READABLE);
        assertTrue(scripted.sessions.isEmpty(), "exited, its exit held");

        Connection b = socket(HostLossPolicy.KEEP_SESSIONS);
        long before = b.link().queuedBytes();
        b.onFrame(new Frame(9, MessageType.SESSION_ATTACH, new SessionAttach(1, null, false)));
        assertTrue(b.link().queuedBytes() > before, "attached and exited queued for the attacher");
        long after = b.link().queuedBytes();
        b.onFrame(new Frame(10, MessageType.SESSION_ATTACH, new SessionAttach(1, null, false)));
        assertTrue(b.link().queuedBytes() > after, "a core.error: the attach collected the session");
    }

    @Test
    void killSessionsKeepsADetachableSessionRunning() {
        Connection a = socket(HostLossPolicy.KILL_SESSIONS);
        a.onFrame(new Frame(5, MessageType.EXEC_REQUEST, ExecRequest.of("sleep", "60").withDetachable(true)));
        a.hostLost(true);
        assertEquals(List.of(), scripted.signals());
        assertEquals(1, scripted.sessions.count(), "it runs on, detached");
        assertFalse(scripted.sessions.isRunning(a.sessionHost(), 5));
    }

    @Test
    void theRelayNoticeAppliesThePolicyToItsRangeOnly() {
        Connection a = socket(HostLossPolicy.KILL_SESSIONS);
        startSession(a, 5);
        startSession(a, 6);
        List<OwnedIds> heard = new java.util.ArrayList<>();
        a.addOwnerGoneListener((ids, policy, over) -> heard.add(ids));
        a.onFrame(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED, new RelayClientRange(6, 7)));
        assertEquals(List.of(101 + ":" + LibC.SIGKILL), scripted.signals());
        assertTrue(scripted.sessions.isRunning(a.sessionHost(), 5));
        assertEquals(List.of(OwnedIds.range(6, 7)), heard);
    }

    @Test
    void killSessionsAlsoKillsTheGroupsOfEndedSessionsThatLingerOn() {
        Connection a = socket(HostLossPolicy.KILL_SESSIONS);
        startSession(a, 5);
        scripted.groupAlive(100, true); // a descendant stays in the group
        scripted.eof(11);
        scripted.eof(12);
        loop.fire(11, Loop.READABLE);
        loop.fire(12, Loop.READABLE);
        scripted.exit(100, 0);
        loop.fire(13, Loop.READABLE);
        assertTrue(scripted.sessions.isEmpty());

        a.hostLost(true);
        assertEquals(List.of(100 + ":" + LibC.SIGKILL), scripted.signals());
    }

    @Test
    void aHostLostDuringShutdownStopsTheAgentOnlyWhenItsSessionsAreKilled() {
        Connection port = (Connection) agent.openPort("port", HostLossPolicy.KEEP_SESSIONS);
        Connection a = socket(HostLossPolicy.KILL_SESSIONS);
        startSession(port, 5);
        startSession(a, 5);
        agent.shutdown("test");
        port.hostLost(false);
        assertFalse(loop.stopped(), "kept sessions still end with exited, then the agent stops");
        port.link().discardOutput();
        a.hostLost(true);
        assertFalse(loop.stopped(), "the port's session still runs");
        scripted.eof(11);
        scripted.eof(12);
        loop.fire(11, Loop.READABLE);
        loop.fire(12, Loop.READABLE);
        scripted.exit(100, 0);
        loop.fire(13, Loop.READABLE);
        port.link().discardOutput(); // the host read it
        assertTrue(loop.stopped());
    }
}
