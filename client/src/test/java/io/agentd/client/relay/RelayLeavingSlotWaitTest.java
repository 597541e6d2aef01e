package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.Ready;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that comes while every slot is held or leaving waits for the agent to confirm a
 * departure only so long ({@link RelayLoop#LEAVING_WAIT_NANOS}); then it is told the relay is full,
 * as the 129th client is. The agent's frames for the departed ids meanwhile are counted and dropped.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelayLeavingSlotWaitTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Ready READY = new Ready(11, 22, 33, "scripted");
    private static final int K = 5;

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
    void aClientWaitingForADepartureTheAgentDoesNotConfirmIsToldTheRelayIsFull() throws Exception {
        IdRange leaving = IdRange.slot(K);
        clients.get(K).close();
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
