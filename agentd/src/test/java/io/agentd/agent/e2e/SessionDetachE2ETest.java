package io.agentd.agent.e2e;

import static io.agentd.agent.e2e.SessionsE2ETest.attachToEnd;
import static io.agentd.agent.e2e.SessionsE2ETest.find;
import static io.agentd.agent.e2e.SessionsE2ETest.list;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.SessionDetached;
import io.agentd.protocol.payload.SessionInfo;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * core.session.detach on a real agent under the default policy (kill on a socket): the host stays
 * connected, the session runs on without it, and an attach from the detached frame's offset goes on
 * exactly where this host's output ended.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SessionDetachE2ETest {
    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("session-detach");

    @Test
    void readyListsTheFeature() throws Exception {
        try (HostConnection host = agent.connect()) {
            Ready ready = (Ready) host.expect(0, MessageType.CORE_READY).payload();
            assertTrue(ready.supports(Ready.FEATURE_SESSION_DETACH), ready.features().toString());
        }
    }

    @Test
    void aPlainSessionDetachedSurvivesItsHostAndIsAttachedFromTheOffsetItWasLeftAt() throws Exception {
        long number;
        try (HostConnection first = agent.connectReady()) {
            first.exec(5, Requests.sh("printf before; read x; printf after; exit 6"));
            first.expect(5, MessageType.EXEC_STARTED);
            assertEquals("before", text(first.expect(5, MessageType.EXEC_STDOUT)));
            first.send(new Frame(5, MessageType.SESSION_DETACH, Empty.INSTANCE));
            SessionDetached detached = (SessionDetached) first.expect(5, MessageType.SESSION_DETACHED).payload();
            assertEquals(6, detached.offset(), "the offset is where this host's output ended");
            number = detached.session();
            assertTrue(first.nothingMore(5, Duration.ofMillis(300)), "nothing more on the detached id");
            // The host is still served, and its detached id is no session of its any more.
            first.send(new Frame(7, MessageType.CORE_PING, Empty.INSTANCE));
            first.expect(7, MessageType.CORE_PONG);
            first.stdin(5, "x\n".getBytes(StandardCharsets.UTF_8));
            assertTrue(first.expectError(5, "invalid_session").message().contains("no session 5"));
            SessionInfo listed = find(list(first, 8), number);
            assertFalse(listed.attached());
            assertEquals(6, listed.retainedStart(), "kept from where it was detached");
        } // the kill policy: the session is no longer this host's, so it outlives the connection
        try (HostConnection second = agent.connectReady()) {
            second.send(new Frame(4, MessageType.SESSION_ATTACH,
                    new io.agentd.protocol.payload.SessionAttach(number, 6L, false)));
            var attached = (io.agentd.protocol.payload.SessionAttached) second.expect(4, MessageType.SESSION_ATTACHED)
                    .payload();
            assertEquals(6, attached.from());
            assertEquals(0, attached.missed());
            second.stdin(4, "x\n".getBytes(StandardCharsets.UTF_8));
            assertEquals("after", text(second.expect(4, MessageType.EXEC_STDOUT)));
            assertEquals(6, ((io.agentd.protocol.payload.ExecExited) second.expect(4, MessageType.EXEC_EXITED)
                    .payload()).code());
        }
    }

    @Test
    void detachedMidStreamTheTwoHostsTogetherGetEveryByteOnce() throws Exception {
        String expected = SessionsE2ETest.lines("", 1, 60_000);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        long number;
        try (HostConnection first = agent.connectReady()) {
            // Detachable: its output is kept from the start, so the attach can go on from any offset.
            first.exec(5, Requests.sh("seq 1 30000; sleep 0.5; seq 30001 60000").withDetachable(true));
            first.expect(5, MessageType.EXEC_STARTED);
            got.writeBytes(((ExecData) first.expect(5, MessageType.EXEC_STDOUT).payload()).data());
            first.send(new Frame(5, MessageType.SESSION_DETACH, Empty.INSTANCE));
            while (true) {
                Frame f = first.next(5);
                if (f.type() == MessageType.SESSION_DETACHED) {
                    SessionDetached d = (SessionDetached) f.payload();
                    assertEquals(got.size(), d.offset(), "the offset counts exactly the bytes sent on the id");
                    number = d.session();
                    break;
                }
                assertEquals(MessageType.EXEC_STDOUT, f.type(), f.toString());
                got.writeBytes(((ExecData) f.payload()).data());
            }
        }
        try (HostConnection second = agent.connectReady()) {
            SessionsE2ETest.Attach rest = attachToEnd(second, 4, number, (long) got.size());
            assertEquals(0, rest.attached().missed());
            got.writeBytes(rest.stdout().getBytes(StandardCharsets.UTF_8));
            assertEquals(0, rest.exited().code());
        }
        assertEquals(expected, got.toString(StandardCharsets.UTF_8));
    }

    @Test
    void detachedWhileSplicingTheOffsetCountsWhatWasSentAndNothingTwice() throws Exception {
        long total = 24L << 20;
        long received = 0;
        long number;
        try (HostConnection first = agent.connectReady()) {
            // Past a few MiB a plain session's output is spliced to the socket; detach in the middle of it.
            first.exec(5, Requests.sh("head -c " + total + " /dev/zero; sleep 1; exit 3"));
            first.expect(5, MessageType.EXEC_STARTED);
            boolean asked = false;
            while (true) {
                Frame f = first.next(5);
                if (f.type() == MessageType.SESSION_DETACHED) {
                    SessionDetached d = (SessionDetached) f.payload();
                    assertEquals(received, d.offset(), "the offset counts exactly the bytes sent on the id");
                    number = d.session();
                    break;
                }
                assertEquals(MessageType.EXEC_STDOUT, f.type(), f.toString());
                received += ((ExecData) f.payload()).data().length;
                if (!asked && received >= 8L << 20) {
                    first.send(new Frame(5, MessageType.SESSION_DETACH, Empty.INSTANCE));
                    asked = true;
                }
            }
            assertTrue(received < total, "detached before the end: " + received);
        }
        try (HostConnection second = agent.connectReady()) {
            SessionsE2ETest.Attach rest = attachToEnd(second, 4, number, received);
            long after = rest.stdout().length();
            assertEquals(total, received + rest.attached().missed() + after,
                    "sent before, missed (said so) and sent after add up to the whole output, each byte once");
            assertEquals(3, rest.exited().code());
        }
    }

    @Test
    void aDetachNamingNoSessionOfThisHostIsRefusedTyped() throws Exception {
        try (HostConnection host = agent.connectReady(); HostConnection other = agent.connectReady()) {
            host.send(new Frame(9, MessageType.SESSION_DETACH, Empty.INSTANCE));
            assertTrue(host.expectError(9, "invalid_session").message().contains("no session 9"));
            host.send(new Frame(0, MessageType.SESSION_DETACH, Empty.INSTANCE));
            host.expectError(0, "invalid_session");
            // Another host's session on the same id is not this host's to detach.
            other.exec(5, ExecRequest.of("sleep", "30"));
            long pid = ((ExecStarted) other.expect(5, MessageType.EXEC_STARTED).payload()).pid();
            host.send(new Frame(5, MessageType.SESSION_DETACH, Empty.INSTANCE));
            host.expectError(5, "invalid_session");
            assertTrue(list(host, 3).stream().anyMatch(s -> s.pid() == pid && s.attached()), "still the other's");
            // Detached once, the id is free: a second detach is refused like any unknown id.
            other.send(new Frame(5, MessageType.SESSION_DETACH, Empty.INSTANCE));
            long number = ((SessionDetached) other.expect(5, MessageType.SESSION_DETACHED).payload()).session();
            other.send(new Frame(5, MessageType.SESSION_DETACH, Empty.INSTANCE));
            other.expectError(5, "invalid_session");
            // Clean up: take it back and end it.
            other.send(new Frame(6, MessageType.SESSION_ATTACH,
                    new io.agentd.protocol.payload.SessionAttach(number, null, false)));
            other.expect(6, MessageType.SESSION_ATTACHED);
            other.send(new Frame(6, MessageType.EXEC_SIGNAL, new io.agentd.protocol.payload.ExecSignal(9)));
            other.expect(6, MessageType.EXEC_EXITED);
        }
    }

    private static String text(Frame f) {
        return new String(((ExecData) f.payload()).data(), StandardCharsets.UTF_8);
    }
}
