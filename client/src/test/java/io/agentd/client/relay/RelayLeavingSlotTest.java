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
        assertEquals(List.of(leaving.endExclusive(), AgentFrameRouter.PROBE_ID, own.id()), pinged,
                "the relay pinged on the id after k's range, then (once the slot was free) for the newcomer's ready");
    }

    /**
     * A client that comes while every slot is held or leaving waits for the agent to confirm a
     * departure only so long ({@link ClientArrivals#LEAVING_WAIT_NANOS}); then it is told the relay is full,
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

    /**
     * The agent restarts while a departure is unconfirmed: its ping may have died with the old agent,
     * or wait in the port for the new one, which answers it after its ready; the relay pings once more
     * after the new ready. Two answers may come for the one departure, and whichever the relay takes
     * as the confirmation, the other must not confirm the slot's next departure (its notice not yet
     * taken by the agent): the ids would go to a third client while the second's session output is
     * still on its way.
     */
    @Test
    void aSecondAnswerForADepartureFromBeforeARestartDoesNotFreeTheSlotsNextDeparture() throws Exception {
        IdRange k = IdRange.slot(K);
        clients.get(K).close();
        port.receiveDeparture(k); // unanswered: the agent dies
        agent.send(new Frame(0, MessageType.CORE_READY, new Ready(44, 55, 66, "restarted")));
        Frame afterReady = agent.receive();
        assertEquals(MessageType.CORE_PING, afterReady.type(), "the relay's ping after the new ready");
        agent.send(pong(k.endExclusive())); // the new agent found the old ping in the port: answered first

        RawClient second = RawClient.connect(port.relay.listenPath());
        clients.add(second);
        CompletableFuture<IdRange> secondGreeting = greetingOf(second);
        boolean afterReadyAnswered = false;
        if (!greetedWithin(secondGreeting, 1)) {
            agent.send(pong(afterReady.id())); // the relay waits for the answer to its own ping: here it is
            afterReadyAnswered = true;
        }
        assertEquals(k, secondGreeting.get(10, TimeUnit.SECONDS), "the second client gets k's slot");
        second.close();
        Frame f;
        do {
            f = agent.receive(); // the probe for the second client's ready may come first (left unanswered)
        } while (f.id() == AgentFrameRouter.PROBE_ID);
        assertEquals(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED,
                new RelayClientRange(k.start(), k.endExclusive())), f);
        assertEquals(new Frame(k.endExclusive(), MessageType.CORE_PING, Empty.INSTANCE), agent.receive());
        if (!afterReadyAnswered) {
            agent.send(pong(afterReady.id())); // a slow agent: in order, before it reaches the second departure
        }

        RawClient third = RawClient.connect(port.relay.listenPath());
        clients.add(third);
        CompletableFuture<IdRange> thirdGreeting = greetingOf(third);
        assertFalse(greetedWithin(thirdGreeting, 1),
                "the third client got k's slot before the agent confirmed the second client's departure");
        agent.send(pong(k.endExclusive()));
        assertEquals(k, thirdGreeting.get(10, TimeUnit.SECONDS), "the third client gets k's slot once confirmed");
    }

    private static Frame pong(long id) {
        return new Frame(id, MessageType.CORE_PONG, Empty.INSTANCE);
    }

    private static CompletableFuture<IdRange> greetingOf(RawClient c) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return c.readGreeting();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static boolean greetedWithin(CompletableFuture<IdRange> greeting, int seconds) throws Exception {
        try {
            greeting.get(seconds, TimeUnit.SECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        }
    }
}
