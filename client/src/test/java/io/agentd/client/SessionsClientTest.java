package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecSignal;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.ExecStdinCredit;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionAttached;
import io.agentd.protocol.payload.SessionInfo;
import io.agentd.protocol.payload.SessionListResult;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The client's side of the sessions extension, against a scripted agent on a real socket. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SessionsClientTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void aDetachableRequestCarriesTheFieldAndGetsTheSessionNumber(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir); AgentClient client = agent.connect(Ready.FEATURE_SESSIONS)) {
            assertTrue(client.agentKeepsSessions());
            ExecSession s = client.start(ExecRequest.of("/bin/sleep", "9").withDetachable(true));
            Frame request = agent.receive();
            assertTrue(((ExecRequest) request.payload()).detachable());
            agent.send(new Frame(request.id(), MessageType.EXEC_STARTED, new ExecStarted(77, 12L)));
            assertEquals(77, s.awaitStarted(WAIT));
            assertEquals(12L, s.sessionNumber());
            assertNull(s.attached());
        }
    }

    @Test
    void aStartDetachedSessionEndsOnItsConnectionAtStartedAndAsksNoStdinCredit(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir);
                AgentClient client = agent.connect(Ready.FEATURE_SESSIONS, Ready.FEATURE_STDIN_WINDOW)) {
            ExecSession s = client.start(ExecRequest.of("/bin/true").withDetachable(true).withStartDetached(true));
            ExecRequest sent = (ExecRequest) agent.receive().payload();
            assertTrue(sent.detachable() && sent.startDetached());
            assertFalse(sent.stdinWindow(), "no stdin goes to a session detached at its start");
            agent.send(new Frame(s.id(), MessageType.EXEC_STARTED, new ExecStarted(77, 12L)));
            assertEquals(77, s.awaitStarted(WAIT));
            assertEquals(12L, s.sessionNumber());
            AgentException end = assertThrows(AgentException.class, () -> s.awaitExit(WAIT));
            assertTrue(end.getMessage().contains("was started detached"), end.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> client.start(ExecRequest.of("/bin/true").withStartDetached(true)));
        }
    }

    @Test
    void detachableIsNeverSentToAnAgentWithoutTheFeature(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir); AgentClient client = agent.connect()) {
            IOException e = assertThrows(IOException.class,
                    () -> client.start(ExecRequest.of("/bin/true").withDetachable(true)));
            assertTrue(e.getMessage().contains("does not keep sessions"), e.getMessage());
            assertThrows(IOException.class, () -> client.listSessions(WAIT));
            assertThrows(IOException.class, () -> client.attach(1, null, null));
            // Nothing reached the agent: the next frame it reads is this ping.
            CompletableFuture<Frame> ping = client.call(MessageType.CORE_PING, Empty.INSTANCE);
            assertEquals(MessageType.CORE_PING, agent.receive().type());
            ping.cancel(false);
        }
    }

    @Test
    void aPlainStartedHasNoSessionNumber(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir); AgentClient client = agent.connect(Ready.FEATURE_SESSIONS)) {
            ExecSession s = client.start(ExecRequest.of("/bin/true"));
            Frame request = agent.receive();
            assertFalse(((ExecRequest) request.payload()).detachable());
            agent.send(new Frame(request.id(), MessageType.EXEC_STARTED, new ExecStarted(5)));
            s.awaitStarted(WAIT);
            assertNull(s.sessionNumber());
        }
    }

    @Test
    void listSessionsReturnsTheAgentsList(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir); AgentClient client = agent.connect(Ready.FEATURE_SESSIONS)) {
            SessionInfo one = new SessionInfo(3, 40, "/bin/sh", List.of("-c", "x"), false, null, SessionInfo.RUNNING,
                    1000, null, null, 10, 0, 10, 0, false, true);
            CompletableFuture<List<SessionInfo>> list = CompletableFuture.supplyAsync(() -> {
                try {
                    return client.listSessions(WAIT);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Frame asked = agent.receive();
            assertEquals(MessageType.SESSION_LIST, asked.type());
            agent.send(new Frame(asked.id(), MessageType.SESSION_LIST_RESULT, new SessionListResult(List.of(one))));
            assertEquals(List.of(one), list.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void attachReceivesAttachedThenOutputThenTheExitAndActsOnTheSession(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir);
                AgentClient client = agent.connect(Ready.FEATURE_SESSIONS, Ready.FEATURE_STDIN_WINDOW)) {
            StringBuilder out = new StringBuilder();
            ExecSession s = client.attach(12, 4L, o -> out.append(new String(o.data(), StandardCharsets.UTF_8)));
            Frame attach = agent.receive();
            assertEquals(MessageType.SESSION_ATTACH, attach.type());
            assertEquals(new SessionAttach(12, 4L, true), attach.payload());
            long id = attach.id();
            agent.send(new Frame(id, MessageType.SESSION_ATTACHED, new SessionAttached(12, 99, true, 10, 6)));
            agent.send(new Frame(id, MessageType.EXEC_STDIN_CREDIT, new ExecStdinCredit(100)));
            agent.send(new Frame(id, MessageType.EXEC_STDOUT, new ExecData("kept".getBytes(StandardCharsets.UTF_8))));
            assertEquals(99, s.awaitStarted(WAIT));
            assertEquals(12L, s.sessionNumber());
            assertEquals(new SessionAttached(12, 99, true, 10, 6), s.attached());
            assertTrue(s.isTty());
            s.writeStdin("hi".getBytes(StandardCharsets.UTF_8));
            Frame stdin = agent.receive();
            assertEquals(id, stdin.id());
            assertEquals(MessageType.EXEC_STDIN, stdin.type());
            s.signal(15);
            assertEquals(new ExecSignal(15), agent.receive().payload());
            agent.send(new Frame(id, MessageType.EXEC_STDOUT, new ExecData(" live".getBytes(StandardCharsets.UTF_8))));
            agent.send(new Frame(id, MessageType.EXEC_EXITED, ExecExited.normal(4)));
            assertEquals(4, s.awaitExit(WAIT).code());
            assertEquals("kept live", out.toString());
        }
    }

    @Test
    void aRefusedAttachFailsWithTheAgentsError(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir); AgentClient client = agent.connect(Ready.FEATURE_SESSIONS)) {
            ExecSession s = client.attach(5, null, null);
            Frame attach = agent.receive();
            assertEquals(new SessionAttach(5, null, false), attach.payload());
            agent.send(new Frame(attach.id(), MessageType.CORE_ERROR, new ErrorPayload("invalid_session",
                    "session 5 is attached to another host", MessageType.SESSION_ATTACH.wire())));
            AgentErrorException e = assertThrows(AgentErrorException.class, () -> s.awaitExit(WAIT));
            assertTrue(e.getMessage().contains("attached to another host"), e.getMessage());
            assertThrows(AgentErrorException.class, () -> s.awaitStarted(WAIT));
        }
    }
}
