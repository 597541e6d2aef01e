package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.relay.IdRange;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ClockSync;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AgentClient#syncClock}: core.clock.sync with the host's time on id 0, then a ping whose
 * pong says the agent took it; a refusal of it on id 0 (a relay that does not pass it on) is the
 * call's error. Against a scripted agent, and against agentd.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@ExtendWith(SharedAgent.class)
class ClockSyncClientTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void theHostsTimeGoesOnIdZeroAndTheCallEndsWithThePongOfThePingAfterIt(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir); AgentClient client = agent.connect()) {
            long before = ClockSync.hostNow().unixTimeNanos();
            CompletableFuture<Duration> sync = syncInBackground(client, WAIT);
            Frame clock = agent.receive();
            long after = ClockSync.hostNow().unixTimeNanos();
            assertEquals(0, clock.id(), "the control channel: " + clock);
            assertEquals(MessageType.CORE_CLOCK_SYNC, clock.type());
            long sent = ((ClockSync) clock.payload()).unixTimeNanos();
            assertTrue(sent >= before && sent <= after, "the host's time as it was sent: " + before + " <= " + sent
                    + " <= " + after);
            Frame ping = agent.receive();
            assertEquals(MessageType.CORE_PING, ping.type(), "right after it: " + ping);
            assertNotEquals(0, ping.id());
            Thread.sleep(200);
            assertFalse(sync.isDone(), "the call waits until the agent has taken the sync");
            agent.send(new Frame(ping.id(), MessageType.CORE_PONG, Empty.INSTANCE));
            Duration rtt = sync.get(20, TimeUnit.SECONDS);
            assertTrue(rtt.toMillis() >= 200, "the round trip, the wait before the pong included: " + rtt);
        }
    }

    /**
     * A relay that does not pass clock.sync on (the reference relay takes only core.shutdown on id
     * 0) refuses it there, before the ping goes on: the call fails with that refusal, and the next
     * one, not refused, succeeds.
     */
    @Test
    void aRefusalOnIdZeroBeforeThePongIsTheCallsError(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir);
                AgentClient client = agent.connectBehindRelay(IdRange.slot(3))) {
            CompletableFuture<Duration> sync = syncInBackground(client, WAIT);
            assertEquals(MessageType.CORE_CLOCK_SYNC, agent.receive().type());
            Frame ping = agent.receive();
            assertTrue(IdRange.slot(3).contains(ping.id()), "the ping on an id of the relay's range: " + ping);
            agent.send(new Frame(0, MessageType.CORE_ERROR, new ErrorPayload(ErrorKind.INVALID_SESSION.wire(),
                    "on id 0 the relay takes only core.shutdown; nothing was forwarded",
                    MessageType.CORE_CLOCK_SYNC.wire())));
            agent.send(new Frame(ping.id(), MessageType.CORE_PONG, Empty.INSTANCE));
            ExecutionException e = assertThrows(ExecutionException.class, () -> sync.get(20, TimeUnit.SECONDS));
            AgentErrorException refused = assertInstanceOf(AgentErrorException.class, e.getCause());
            assertEquals(MessageType.CORE_CLOCK_SYNC.wire(), refused.offendingType());
            assertEquals(ErrorKind.INVALID_SESSION, refused.kind());

            CompletableFuture<Duration> again = syncInBackground(client, WAIT);
            assertEquals(MessageType.CORE_CLOCK_SYNC, agent.receive().type());
            Frame secondPing = agent.receive();
            agent.send(new Frame(secondPing.id(), MessageType.CORE_PONG, Empty.INSTANCE));
            assertTrue(again.get(20, TimeUnit.SECONDS).toNanos() > 0, "not refused this time");
        }
    }

    @Test
    void noPongIsATimeout(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir); AgentClient client = agent.connect()) {
            TimeoutException e = assertThrows(TimeoutException.class, () -> client.syncClock(Duration.ofMillis(300)));
            assertTrue(e.getMessage().contains("core.pong"), e.getMessage());
            assertEquals(MessageType.CORE_CLOCK_SYNC, agent.receive().type(), "sent all the same");
            assertTrue(client.isOpen(), "the connection goes on");
        }
    }

    /** agentd itself: a clock within 100 ms of the host's is left alone, and answers nothing; the pong comes. */
    @Test
    void againstAgentdTheSyncIsTaken(AgentdProcess agentd) throws Exception {
        try (AgentClient client = agentd.connect()) {
            Duration rtt = client.syncClock(WAIT);
            assertTrue(rtt.toNanos() > 0 && rtt.compareTo(WAIT) < 0, rtt.toString());
            assertTrue(client.ping(WAIT).toNanos() > 0, "the connection goes on");
        }
    }

    private static CompletableFuture<Duration> syncInBackground(AgentClient client, Duration timeout) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return client.syncClock(timeout);
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        });
    }

    private static <T> T assertInstanceOf(Class<T> type, Throwable t) {
        assertTrue(type.isInstance(t), "expected " + type.getSimpleName() + ", got " + t);
        return type.cast(t);
    }
}
