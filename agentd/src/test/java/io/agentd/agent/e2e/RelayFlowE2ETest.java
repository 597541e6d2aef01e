package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.transport.HeldIds;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.RelayClientRange;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Relay flow control (docs/PROTOCOL-EXTENSIONS.md): a connection acting as a relay asks the agent to
 * hold one client's output; that client's sessions wait with their output in their pipes while the
 * others' flows, and every held byte comes once the relay releases the range.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RelayFlowE2ETest {
    /** More than a pipe holds: the held session must block on its output, not finish into the pipe. */
    private static final long HELD_BYTES = 3_000_000;

    @Test
    void aHeldRangesSessionsWaitWhileOthersRunAndGetEveryByteWhenReleased() throws Exception {
        try (AgentProcess agent = AgentProcess.start("relay-flow");
                HostConnection relay = agent.connect()) {
            Ready ready = (Ready) relay.expect(0, MessageType.CORE_READY).payload();
            assertTrue(ready.supports(Ready.FEATURE_RELAY_FLOW), "ready lists relay_flow: " + ready.features());
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_PAUSED, new RelayClientRange(100, 200)));
            relay.exec(150, ExecRequest.of("head", "-c", Long.toString(HELD_BYTES), "/dev/zero"));
            relay.expect(150, MessageType.EXEC_STARTED);
            // Ids outside the range (below and at its end) are served while it is held.
            assertEquals(1288895, relay.run(99, ExecRequest.of("seq", "1", "200000")).stdout().length);
            assertEquals(3, relay.run(200, ExecRequest.of("sh", "-c", "echo out; exit 3")).code());
            assertNull(relay.nextOrNull(150, Duration.ofMillis(300)), "nothing of the held session's output");
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_RESUMED, new RelayClientRange(100, 200)));
            SessionResult held = relay.collect(150, HostConnection.TIMEOUT);
            assertEquals(0, held.code());
            assertEquals(HELD_BYTES, held.stdout().length, "every held byte, once released");
        }
    }

    /**
     * A command that ends while its range is held: its output and its exit after it wait for the
     * release, then come in the protocol's order (PROTOCOL-EXTENSIONS.md, "What the agent holds";
     * the paragraph said exits were not held, which a review found untrue).
     */
    @Test
    void aSessionEndingWhileHeldReportsItsExitAfterItsOutputOnceReleased() throws Exception {
        try (AgentProcess agent = AgentProcess.start("relay-flow-exit");
                HostConnection relay = agent.connectReady()) {
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_PAUSED, new RelayClientRange(100, 200)));
            relay.exec(150, ExecRequest.of("sh", "-c", "echo hi; exit 3"));
            relay.expect(150, MessageType.EXEC_STARTED);
            assertNull(relay.nextOrNull(150, Duration.ofMillis(500)), "neither its output nor its exit while held");
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_RESUMED, new RelayClientRange(100, 200)));
            SessionResult ended = relay.collect(150, HostConnection.TIMEOUT);
            assertEquals("hi\n", ended.out());
            assertEquals(3, ended.code());
        }
    }

    @Test
    void theClientsDepartureReleasesItsRangeForTheNextClient() throws Exception {
        try (AgentProcess agent = AgentProcess.start("relay-flow-gone");
                HostConnection relay = agent.connectReady()) {
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_PAUSED, new RelayClientRange(100, 200)));
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED, new RelayClientRange(100, 200)));
            assertEquals(4, relay.run(150, ExecRequest.of("sh", "-c", "echo next; exit 4")).code(),
                    "the next client of the range is not held");
        }
    }

    /**
     * A departure notice that overlaps a held range ends that hold (the range's next client starts
     * free), and the held range's other sessions read on at once: they used to wait for a resume that
     * found no hold left, i.e. for ever on an idle link.
     */
    @Test
    void aDepartureEndingAWiderHoldLetsItsOtherSessionsReadOn() throws Exception {
        try (AgentProcess agent = AgentProcess.start("relay-flow-overlap");
                HostConnection relay = agent.connectReady()) {
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_PAUSED, new RelayClientRange(90, 110)));
            relay.exec(105, ExecRequest.of("head", "-c", Long.toString(HELD_BYTES), "/dev/zero"));
            relay.expect(105, MessageType.EXEC_STARTED);
            assertNull(relay.nextOrNull(105, Duration.ofMillis(300)), "held");
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED, new RelayClientRange(0, 100)));
            SessionResult r = relay.collect(105, Duration.ofSeconds(20));
            assertEquals(0, r.code());
            assertEquals(HELD_BYTES, r.stdout().length, "every byte, without a resume");
        }
    }

    @Test
    void badNoticesAreRefusedAndAHeldRangeStaysHeld() throws Exception {
        try (AgentProcess agent = AgentProcess.start("relay-flow-bad");
                HostConnection relay = agent.connectReady()) {
            relay.send(new Frame(9, MessageType.CORE_RELAY_CLIENT_PAUSED, new RelayClientRange(100, 200)));
            relay.expectError(9, "invalid_session");
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_RESUMED, new RelayClientRange(200, 100)));
            relay.expectError(0, "invalid_payload");
            for (int k = 0; k < HeldIds.MAX_RANGES; k++) {
                relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_PAUSED,
                        new RelayClientRange(1000 + 10L * k, 1010 + 10L * k)));
            }
            long past = 1000 + 10L * HeldIds.MAX_RANGES; // past every range held above
            RelayClientRange oneMore = new RelayClientRange(past, past + 10);
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_PAUSED, oneMore));
            relay.expectError(0, "limit_exceeded");
            // A resume of a range that is not held is no error (notices may cross); a ping shows it was read.
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_RESUMED, oneMore));
            relay.send(new Frame(1, MessageType.CORE_PING, Empty.INSTANCE));
            relay.expect(1, MessageType.CORE_PONG);
            assertTrue(relay.nothingMore(0, Duration.ofMillis(100)), "no answer to a resume");
            // Still running while it is checked (its exit would be held as well: see the next test).
            relay.exec(1005, ExecRequest.of("sh", "-c", "echo held; sleep 2"));
            relay.expect(1005, MessageType.EXEC_STARTED);
            assertNull(relay.nextOrNull(1005, Duration.ofMillis(300)), "range [1000, 1010) is still held");
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_RESUMED, new RelayClientRange(1000, 1010)));
            SessionResult r = relay.collect(1005, HostConnection.TIMEOUT);
            assertEquals("held\n", new String(r.stdout()));
        }
    }
}
