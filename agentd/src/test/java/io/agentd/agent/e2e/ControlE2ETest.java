package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ClockSync;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecSignal;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.Touched;
import java.io.InputStream;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Control messages and bad input against a running agent on a unix socket. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ControlE2ETest {
    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("control");

    @Test
    void readyCarriesStartTimesAndVersionAndComesAgainOnReconnect() throws Exception {
        Ready first;
        try (HostConnection host = agent.process().connect()) {
            first = (Ready) host.expect(0, MessageType.CORE_READY).payload();
        }
        assertTrue(first.bootTimeNs() > 0 && first.bootTimeNs() <= first.initTimeNs(), first.toString());
        assertTrue(first.initTimeNs() <= first.readyTimeNs(), first.toString());
        assertFalse(first.agentVersion() == null || first.agentVersion().isEmpty());
        try (HostConnection host = agent.process().connect()) {
            Ready second = (Ready) host.expect(0, MessageType.CORE_READY).payload();
            assertTrue(second.readyTimeNs() > first.readyTimeNs(), "a new core.ready for the new host");
            assertEquals(first.bootTimeNs(), second.bootTimeNs());
        }
    }

    @Test
    void pingIsAnsweredWithPongOnItsId() throws Exception {
        try (HostConnection host = agent.connectReady()) {
            host.send(new Frame(77, MessageType.CORE_PING, Empty.INSTANCE));
            host.expect(77, MessageType.CORE_PONG);
            host.send(new Frame(0, MessageType.CORE_PING, Empty.INSTANCE));
            host.expect(0, MessageType.CORE_PONG);
        }
    }

    @Test
    void touchedActivitySeqIncreases() throws Exception {
        try (HostConnection host = agent.connectReady()) {
            host.send(new Frame(5, MessageType.CORE_TOUCH, Empty.INSTANCE));
            long a = ((Touched) host.expect(5, MessageType.CORE_TOUCHED).payload()).activitySeq();
            host.send(new Frame(5, MessageType.CORE_PING, Empty.INSTANCE));
            host.expect(5, MessageType.CORE_PONG);
            host.send(new Frame(5, MessageType.CORE_TOUCH, Empty.INSTANCE));
            long b = ((Touched) host.expect(5, MessageType.CORE_TOUCHED).payload()).activitySeq();
            assertTrue(b > a, a + " then " + b);
        }
    }

    /** A clock within 100 ms is left alone (no reply either way); the agent keeps serving. */
    @Test
    void clockSyncWithinThresholdIsAcceptedSilently() throws Exception {
        try (HostConnection host = agent.connectReady()) {
            long now = System.currentTimeMillis() * 1_000_000L;
            host.send(new Frame(0, MessageType.CORE_CLOCK_SYNC, new ClockSync(now)));
            host.send(new Frame(0, MessageType.CORE_PING, Empty.INSTANCE));
            host.expect(0, MessageType.CORE_PONG);
            assertTrue(host.nothingMore(0, Duration.ofMillis(200)));
        }
    }

    /**
     * PROTOCOL-EXTENSIONS ("The control messages on another id", "core.clock.sync"): a clock.sync is
     * taken on any id, silently; one past the year 2262 is its one refusal, invalid_payload on the
     * frame's own id.
     */
    @Test
    void clockSyncIsTakenOnAnyIdAndATimePast2262IsRefusedOnItsId() throws Exception {
        try (HostConnection host = agent.connectReady()) {
            long now = System.currentTimeMillis() * 1_000_000L;
            host.send(new Frame(9, MessageType.CORE_CLOCK_SYNC, new ClockSync(now)));
            host.send(new Frame(9, MessageType.CORE_PING, Empty.INSTANCE));
            host.expect(9, MessageType.CORE_PONG);
            host.send(new Frame(9, MessageType.CORE_CLOCK_SYNC, new ClockSync(Long.MIN_VALUE))); // u64 2^63
            ErrorPayload refused = (ErrorPayload) host.expect(9, MessageType.CORE_ERROR).payload();
            assertEquals("invalid_payload", refused.kind(), refused.toString());
            assertEquals("unix_time_nanos beyond year 2262", refused.message());
            assertTrue(host.nothingMore(0, Duration.ofMillis(200)));
        }
    }

    @Test
    void everyErrorFixtureIsAnsweredAndFollowedByAWorkingPing() throws Exception {
        JsonNode fixtures;
        try (InputStream in = getClass().getResourceAsStream("/frames.json")) {
            fixtures = new ObjectMapper().readTree(in);
        }
        int checked = 0;
        HostConnection host = agent.connectReady();
        try {
            for (JsonNode f : fixtures.get("frames")) {
                if (!"error".equals(f.get("expect").asText())) {
                    continue;
                }
                String name = f.get("name").asText();
                String expected = f.get("error").asText();
                byte[] bytes = HexFormat.of().parseHex(f.get("hex").asText());
                // Where the frame's id can be read, the answer comes on that id; a length the agent
                // cannot trust is answered on id 0 as malformed_message, and on a socket the agent
                // then drops the connection: the next fixture goes to a new one.
                boolean lengthRefused = expected.startsWith("frame_too_");
                long answerId = lengthRefused || bytes.length < 8 ? 0 : readU32(bytes, 4);
                host.sendRaw(bytes);
                ErrorPayload e = host.expectError(answerId, lengthRefused ? "malformed_message" : expected);
                assertFalse(e.message().isEmpty(), name);
                if (lengthRefused) {
                    UnanswerableInputE2ETest.awaitTrue(host::disconnected, Duration.ofSeconds(10),
                            name + ": the connection was kept");
                    host.close();
                    host = agent.connectReady();
                }
                long pingId = 1000 + checked;
                host.send(new Frame(pingId, MessageType.CORE_PING, Empty.INSTANCE));
                host.expect(pingId, MessageType.CORE_PONG);
                checked++;
            }
        } finally {
            host.close();
        }
        assertTrue(checked >= 10, "error fixtures checked: " + checked);
        assertTrue(agent.process().isAlive());
    }

    /**
     * A type only the agent sends is refused as unsupported_message_type (PROTOCOL.md) whatever its
     * flags and payload: a pong with flags 0 and an exited or stdout without its fields are not
     * invalid_flags or invalid_payload. Raw bytes: the encoder would not write such frames.
     */
    @Test
    void agentOnlyTypesFromTheHostAreUnsupportedWhateverTheirShape() throws Exception {
        String[][] frames = {
            {"3", "000000190000000300a3617607617469636f72652e706f6e67617041a0"}, // core.pong, flags 0, {}
            {"4", "000000200000000401a3617607617470636f72652e657865632e657869746564617041a0"}, // exited {}
            {"5", "000000200000000500a3617607617470636f72652e657865632e7374646f7574617041a0"}, // stdout {}
        };
        try (HostConnection host = agent.connectReady()) {
            for (String[] f : frames) {
                host.sendRaw(HexFormat.of().parseHex(f[1]));
                ErrorPayload e = host.expectError(Long.parseLong(f[0]), "unsupported_message_type");
                assertTrue(e.message().contains("sent by the agent"), e.message());
            }
            host.send(new Frame(6, MessageType.CORE_PING, Empty.INSTANCE));
            host.expect(6, MessageType.CORE_PONG);
        }
    }

    @Test
    void framesForUnknownSessionsAreRefusedWithInvalidSession() throws Exception {
        try (HostConnection host = agent.connectReady()) {
            host.send(new Frame(4242, MessageType.EXEC_STDIN, new ExecData(new byte[] {1})));
            host.expectError(4242, "invalid_session");
            host.send(new Frame(4243, MessageType.EXEC_SIGNAL, new ExecSignal(15)));
            host.expectError(4243, "invalid_session");
            host.send(new Frame(4244, MessageType.EXEC_RESIZE, new io.agentd.protocol.payload.ExecResize(30, 100)));
            host.expectError(4244, "invalid_session");
        }
    }

    @Test
    void anEndOfInputForAnExecThatFailedIsAnsweredWithoutAWarning() throws Exception {
        try (AgentProcess own = AgentProcess.startWithJavaOpts("late-eof", null);
                HostConnection host = own.connect()) {
            host.expect(0, MessageType.CORE_READY);
            // What agentctl sends for a command run without -i: the request, then the end of input.
            host.send(new Frame(7, MessageType.EXEC_REQUEST,
                    io.agentd.protocol.payload.ExecRequest.of("/nonexistent/program")));
            host.send(new Frame(7, MessageType.EXEC_STDIN, new ExecData(new byte[0])));
            host.send(new Frame(8, MessageType.EXEC_STDIN, new ExecData(new byte[] {1})));
            host.expect(7, MessageType.EXEC_FAILED);
            host.expectError(7, "invalid_session");
            host.expectError(8, "invalid_session");
            host.send(new Frame(1, MessageType.CORE_PING, Empty.INSTANCE));
            host.expect(1, MessageType.CORE_PONG);
            String log = own.logText();
            assertFalse(log.contains("refused frame id=7 "), "the end of input that crossed the failure: " + log);
            assertTrue(log.contains("refused frame id=8 "), "stdin data for no session is still a warning: " + log);
        }
    }

    @Test
    void aFloodOfBadFramesIsAnsweredInFullButLoggedAtALimitedRate() throws Exception {
        int flood = 500;
        try (AgentProcess own = AgentProcess.startWithJavaOpts("refusal-flood", null);
                HostConnection host = own.connect()) {
            host.expect(0, MessageType.CORE_READY);
            for (int i = 0; i < flood; i++) {
                host.send(new Frame(5000 + i, MessageType.EXEC_SIGNAL, new ExecSignal(15)));
            }
            for (int i = 0; i < flood; i++) {
                host.expectError(5000 + i, "invalid_session");
            }
            host.send(new Frame(1, MessageType.CORE_PING, Empty.INSTANCE));
            host.expect(1, MessageType.CORE_PONG);
            // Every refusal is either its own line or counted in a "not logged" line after its second.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            String log;
            long logged;
            long leftOut;
            do {
                Thread.sleep(200);
                log = own.logText();
                logged = log.lines().filter(l -> l.contains("refused frame id=")).count();
                leftOut = java.util.regex.Pattern.compile("(\\d+) more refused frames \\(each was answered with core.error or stdin.error\\) in the last second not logged")
                        .matcher(log).results().mapToLong(m -> Long.parseLong(m.group(1))).sum();
            } while (logged + leftOut < flood && System.nanoTime() < deadline);
            assertEquals(flood, logged + leftOut, log);
            assertTrue(logged < flood / 5, logged + " refusal lines for " + flood + " bad frames");
        }
    }

    @Test
    void aFloodOfEndsOfInputOnUnknownIdsIsLoggedAtTheSameRateAtDebugLevel() throws Exception {
        int flood = 500;
        try (AgentProcess own = AgentProcess.start("eof-flood", "--log-level", "debug");
                HostConnection host = own.connect()) {
            host.expect(0, MessageType.CORE_READY);
            for (int i = 0; i < flood; i++) {
                host.send(new Frame(7000 + i, MessageType.EXEC_STDIN, new ExecData(new byte[0])));
            }
            for (int i = 0; i < flood; i++) {
                host.expectError(7000 + i, "invalid_session");
            }
            host.send(new Frame(1, MessageType.CORE_PING, Empty.INSTANCE));
            host.expect(1, MessageType.CORE_PONG);
            long lines = own.logText().lines().filter(l -> l.contains("refused frame id=")).count();
            assertTrue(lines > 0 && lines < flood / 5, lines + " refusal lines for " + flood + " ends of input");
        }
    }

    @Test
    void signalOutsideOneToSixtyFourIsInvalidPayload() throws Exception {
        try (HostConnection host = agent.connectReady()) {
            host.send(new Frame(9, MessageType.EXEC_SIGNAL, new ExecSignal(0)));
            host.expectError(9, "invalid_payload");
            host.send(new Frame(9, MessageType.EXEC_SIGNAL, new ExecSignal(65)));
            host.expectError(9, "invalid_payload");
            host.send(new Frame(9, MessageType.EXEC_SIGNAL, new ExecSignal(64)));
            host.expectError(9, "invalid_session"); // a signal Linux has: only the id is unknown
        }
    }

    @Test
    void guestToHostTypesSentByTheHostAreRefused() throws Exception {
        try (HostConnection host = agent.connectReady()) {
            host.send(new Frame(12, MessageType.CORE_PONG, Empty.INSTANCE));
            ErrorPayload e = host.expectError(12, "unsupported_message_type");
            assertEquals("core.pong", e.offendingType());
        }
    }

    private static long readU32(byte[] b, int off) {
        return ((b[off] & 0xffL) << 24) | ((b[off + 1] & 0xffL) << 16) | ((b[off + 2] & 0xffL) << 8) | (b[off + 3] & 0xffL);
    }
}
