package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecSignal;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * An agent whose devpts holds one PTY (a mount namespace of its own): a second PTY session is a
 * typed pty_setup_failed, and every way a PTY session ends or fails gives its PTY back (a leaked
 * master or a slave the agent held would make the next PTY session fail). Needs root, as CI runs.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PtyExhaustionE2ETest {
    static AgentProcess agent;

    @BeforeAll
    static void start() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root (unshare, mount)");
        agent = AgentProcess.startWithOwnDevpts("pty-exhaustion", 1);
    }

    @AfterAll
    static void stop() throws Exception {
        if (agent != null) {
            agent.close();
        }
    }

    /** A tty `echo ok` succeeds (the one PTY is free), retried for a moment. */
    private static void assertPtyFree(HostConnection host, long id, String after) throws Exception {
        SessionResult r = null;
        for (int i = 0; i < 20; i++) {
            r = host.run(id + i * 1000L, Requests.tty("echo", "ok"));
            if (r.failed() == null) {
                assertTrue(new String(r.stdout(), StandardCharsets.UTF_8).contains("ok"));
                return;
            }
            Thread.sleep(250);
        }
        throw new AssertionError("the PTY is not free after " + after + ": " + r.failed());
    }

    @Test
    @Order(1)
    void secondPtyIsATypedFailure() throws Exception {
        try (HostConnection host = agent.connectReady()) {
            assertPtyFree(host, 1, "nothing");
            host.exec(2, Requests.tty("sleep", "30"));
            host.expect(2, MessageType.EXEC_STARTED);
            SessionResult second = host.run(3, Requests.tty("true"));
            assertNotNull(second.failed(), "second PTY");
            assertEquals("pty_setup_failed", second.failed().kind(), second.failed().toString());
            assertEquals("ENOSPC", second.failed().errnoName(), second.failed().toString());
            assertTrue(second.failed().message().contains("every PTY the guest allows is in use, not a full disk"),
                    "the message says the PTYs ran out: " + second.failed().message());
            host.send(new Frame(2, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
            host.collect(2, HostConnection.TIMEOUT);
            assertPtyFree(host, 4, "a killed session");
        }
    }

    @Test
    @Order(2)
    void hostLossGivesThePtyBack() throws Exception {
        try (HostConnection host = agent.connectReady()) {
            host.exec(10, Requests.tty("sleep", "30"));
            host.expect(10, MessageType.EXEC_STARTED);
        }
        try (HostConnection host = agent.connectReady()) {
            assertPtyFree(host, 11, "host loss");
        }
    }

    @Test
    @Order(3)
    void timeoutGivesThePtyBack() throws Exception {
        try (HostConnection host = agent.connectReady()) {
            SessionResult r = host.run(20, Requests.withTimeout(Requests.tty("sleep", "30"), 300));
            assertEquals(Boolean.TRUE, r.exited().timedOut());
            assertPtyFree(host, 21, "a timeout");
        }
    }

    @Test
    @Order(4)
    void failedStartsGiveThePtyBack() throws Exception {
        try (HostConnection host = agent.connectReady()) {
            SessionResult r = host.run(30, Requests.tty("/no/such/cmd"));
            assertNotNull(r.failed());
            assertPtyFree(host, 31, "a command not found");
            r = host.run(32, new ExecRequest("true", List.of(), List.of(), "/no/such/dir", null, true, 24, 80, List.of(), null));
            assertNotNull(r.failed());
            assertPtyFree(host, 33, "a missing cwd");
            r = host.run(34, new ExecRequest("true", List.of(), List.of(), null, "nobody", true, 24, 80, List.of(), null));
            assertPtyFree(host, 35, "a session as nobody (" + (r.failed() == null ? "ran" : r.failed().toString()) + ")");
        }
    }

    @Test
    @Order(5)
    void detachedAndAttachedSessionGivesThePtyBack() throws Exception {
        long number;
        try (HostConnection host = agent.connectReady()) {
            number = SessionsE2ETest.startDetached(host, 40, Requests.tty("sh", "-c", "read x; echo bye"));
        }
        try (HostConnection host = agent.connectReady()) {
            host.send(new Frame(41, MessageType.SESSION_ATTACH, new io.agentd.protocol.payload.SessionAttach(number, null, false)));
            host.expect(41, MessageType.SESSION_ATTACHED);
            host.stdin(41, "x\r".getBytes(StandardCharsets.UTF_8));
            Frame f;
            do {
                f = host.next(41);
            } while (f.type() != MessageType.EXEC_EXITED);
            assertPtyFree(host, 42, "an attached session's exit");
        }
    }
}
