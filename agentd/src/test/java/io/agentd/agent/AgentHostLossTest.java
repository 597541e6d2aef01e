package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.session.ScriptedSessions;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.transport.HostLossPolicy;
import io.agentd.agent.transport.PortLink;
import io.agentd.agent.transport.RecordingHost;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionAttached;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The host-loss policy as the agent applies it, on a scripted loop: no agent process, no child. */
class AgentHostLossTest {
    private static final int PID = 100;
    private final ScriptedLoop loop = new ScriptedLoop();
    private final RecordingHost host = new RecordingHost();
    private final ScriptedSessions scripted = new ScriptedSessions(loop, host, new Child(PID, 13, 10, 11, 12, false));
    private final Agent agent = new Agent(loop, new PortLink(loop, 1 << 20, 0), scripted.sessions,
            new Agent.StartTimes(0, 0), "test");

    private void startSession(long id) {
        scripted.sessions.onExecRequest(id, ExecRequest.of("sleep", "60"));
        assertTrue(scripted.sessions.isRunning(id));
    }

    @Test
    void killSessionsKillsEachGroupSendsNothingAndReleasesEveryFd() {
        startSession(5);
        agent.onHostLost(HostLossPolicy.KILL_SESSIONS);
        assertEquals(List.of(PID + ":" + LibC.SIGKILL), scripted.signals());
        assertTrue(scripted.sessions.isEmpty());
        assertEquals(List.of(MessageType.EXEC_STARTED), host.types(), "no exited for a host that is gone");
        for (int fd = 10; fd <= 13; fd++) {
            assertEquals(1, scripted.closes(fd), "fd " + fd);
        }
        assertFalse(loop.stopped());
    }

    @Test
    void keepSessionsOnAPortLeavesThemOnTheirIdAndTheirExitedWaitsForTheHost() {
        startSession(5);
        agent.onPortHostLost(HostLossPolicy.KEEP_SESSIONS);
        assertEquals(List.of(), scripted.signals());
        assertTrue(scripted.sessions.isRunning(5));

        scripted.eof(11);
        scripted.eof(12);
        loop.fire(11, Loop.READABLE);
        loop.fire(12, Loop.READABLE);
        scripted.exit(PID, 0);
        loop.fire(13, Loop.READABLE);
        assertEquals(1, host.of(MessageType.EXEC_EXITED).size());
    }

    @Test
    void keepSessionsOnASocketDetachesThemAndTheirExitWaitsForAnAttach() {
        startSession(5);
        agent.onHostLost(HostLossPolicy.KEEP_SESSIONS);
        assertEquals(List.of(), scripted.signals());
        assertFalse(scripted.sessions.isRunning(5), "the id was the gone host's");
        assertEquals(1, scripted.sessions.count(), "the session runs on");

        scripted.eof(11);
        scripted.eof(12);
        loop.fire(11, Loop.READABLE);
        loop.fire(12, Loop.READABLE);
        scripted.exit(PID, 0);
        loop.fire(13, Loop.READABLE);
        assertEquals(0, host.of(MessageType.EXEC_EXITED).size(), "no host: the exit is held");
        assertTrue(scripted.sessions.isEmpty());

        scripted.sessions.onAttach(9, new SessionAttach(1, null, false));
        assertEquals(List.of(new SessionAttached(1, PID, false, 0, 0)), host.of(MessageType.SESSION_ATTACHED).stream()
                .map(f -> f.payload()).toList());
        assertEquals(9, host.of(MessageType.EXEC_EXITED).get(0).id());
        scripted.sessions.onAttach(10, new SessionAttach(1, null, false));
        assertEquals(MessageType.CORE_ERROR, host.types().get(host.types().size() - 1), "collected by the attach");
    }

    @Test
    void killSessionsKeepsADetachableSessionRunning() {
        scripted.sessions.onExecRequest(5, ExecRequest.of("sleep", "60").withDetachable(true));
        agent.onHostLost(HostLossPolicy.KILL_SESSIONS);
        assertEquals(List.of(), scripted.signals());
        assertEquals(1, scripted.sessions.count());
        assertEquals(1L, ((ExecStarted) host.of(MessageType.EXEC_STARTED).get(0).payload()).session());
    }

    @Test
    void killSessionsAlsoKillsTheGroupsOfEndedSessionsThatLingerOn() {
        startSession(5);
        scripted.groupAlive(PID, true); // a descendant stays in the group
        scripted.eof(11);
        scripted.eof(12);
        loop.fire(11, Loop.READABLE);
        loop.fire(12, Loop.READABLE);
        scripted.exit(PID, 0);
        loop.fire(13, Loop.READABLE);
        assertTrue(scripted.sessions.isEmpty());

        agent.onHostLost(HostLossPolicy.KILL_SESSIONS);
        assertEquals(List.of(PID + ":" + LibC.SIGKILL), scripted.signals());
    }

    @Test
    void aHostLostDuringShutdownStopsTheAgentOnlyWhenItsSessionsAreKilled() {
        startSession(5);
        agent.shutdown("test");
        agent.onHostLost(HostLossPolicy.KEEP_SESSIONS);
        assertFalse(loop.stopped(), "kept sessions still end with exited, then the agent stops");
        agent.onHostLost(HostLossPolicy.KILL_SESSIONS);
        assertTrue(loop.stopped());
    }
}
