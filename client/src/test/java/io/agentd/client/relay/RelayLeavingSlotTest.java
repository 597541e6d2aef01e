package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.RelayClientRange;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A slot freed while the relay is full goes to a waiting newcomer only once the agent has taken
 * the departure notice: what the agent sent for the old client's sessions before that (on a port
 * its default host-loss policy keeps them running) is dropped, never given to the newcomer; and a
 * newcomer waits for that confirmation only so long.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelayLeavingSlotTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Ready READY = new Ready(11, 22, 33, "scripted");
    /** The client that leaves: any but the first, whose slot is the one reused last anyway. */
    private static final int K = 37;

    @TempDir
    Path dir;
    private ScriptedPort port;
    private RawClient agent;
    private final List<RawClient> clients = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        port = ScriptedPort.startReady(dir, WAIT, READY);
        agent = port.agent;
        for (int i = 0; i < IdRange.SLOTS; i++) {
            clients.add(port.readyClient());
        }
    }

    @AfterEach
    void stop() throws Exception {
        for (RawClient c : clients) {
            c.close();
        }
        port.close();
    }

    @Test
    void theOutputOfALeftClientsSessionsSentBeforeTheAgentTookTheNoticeNeverReachesTheNextClient() throws Exception {
        IdRange leaving = IdRange.slot(K);
        clients.get(K).close();
        assertEquals(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED,
                new RelayClientRange(leaving.start(), leaving.endExclusive())), agent.receive());
        RawClient newcomer = RawClient.connect(port.relay.listenPath());
        clients.add(newcomer);
        CompletableFuture<IdRange> greeting = CompletableFuture.supplyAsync(() -> {
            try {
                return newcomer.readGreeting();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        try {
            greeting.get(1, TimeUnit.SECONDS); // time for the relay to take it in (a slot it must not get yet)
        } catch (TimeoutException e) {
            // it waits, as it should
        }
        // Output of k's session, sent before the agent took the notice: before it answers the ping after it.
        Frame output = new Frame(leaving.start() + 1, MessageType.EXEC_STDOUT,
                new ExecData("k's output".getBytes(StandardCharsets.UTF_8)));
        agent.send(output);
        boolean greetedBeforeTheAnswer = greeting.isDone();
        List<Long> pinged = port.answerPingsFromNowOn();

        assertEquals(leaving, greeting.get(10, TimeUnit.SECONDS), "the newcomer gets k's slot");
        Frame first = newcomer.receive();
        assertEquals(MessageType.CORE_READY, first.type(), "the newcomer got another client's frame: " + first);
        Frame own = new Frame(leaving.start() + 2, MessageType.CORE_PING, Empty.INSTANCE);
        newcomer.send(own);
        assertEquals(new Frame(own.id(), MessageType.CORE_PONG, Empty.INSTANCE), newcomer.receive(),
                "nothing came between the ready and the answer to its own ping");
        assertFalse(greetedBeforeTheAnswer, "the newcomer had k's slot before the agent confirmed k's departure");
        assertEquals(List.of(leaving.endExclusive(), RelayLoop.PROBE_ID, own.id()), pinged,
                "the relay pinged on the id after k's range, then (once the slot was free) for the newcomer's ready");
    }

    /**
     * A client that comes while every slot is held or leaving waits for the agent to confirm a
     * departure only so long ({@link RelayLoop#LEAVING_WAIT_NANOS}); then it is told the relay is full,
     * as the 129th client is. The agent's frames for the departed ids meanwhile are counted and dropped.
     */
    @Test
    void aClientWaitingForADepartureTheAgentDoesNotConfirmIsToldTheRelayIsFull() throws Exception {
        IdRange leaving = IdRange.slot(5);
        clients.get(5).close();
        assertEquals(MessageType.CORE_RELAY_CLIENT_DISCONNECTED, agent.receive().type());
        Frame probe = agent.receive();
        assertEquals(new Frame(leaving.endExclusive(), MessageType.CORE_PING, Empty.INSTANCE), probe);
        agent.send(new Frame(leaving.start() + 1, MessageType.EXEC_STDOUT, new ExecData(new byte[] {1, 2, 3})));

        try (RawClient turnedAway = RawClient.connect(port.relay.listenPath())) {
            Frame refusal = turnedAway.receive(); // after the relay's wait, not at once
            assertEquals(0, refusal.id());
            ErrorPayload error = (ErrorPayload) refusal.payload();
            assertEquals("invalid_session", error.kind());
            assertTrue(error.message().contains("the relay is full"), error.message());
            assertTrue(turnedAway.atEof());
        }

        agent.send(new Frame(probe.id(), MessageType.CORE_PONG, Empty.INSTANCE)); // confirmed at last
        RawClient next = port.greetedClient();
        clients.add(next);
        port.answerProbe();
        assertEquals(MessageType.CORE_READY, next.receive().type());
        // The stdout came before the pong, which came before the slot was free again: it was counted.
        assertEquals(1, port.relay.framesForDeparted());
    }
}
