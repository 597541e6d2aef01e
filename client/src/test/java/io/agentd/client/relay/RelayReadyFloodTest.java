package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Ready;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent that sends core.ready without end (a new start time each, as a guest in a restart loop,
 * or a compromised one, may) and reads nothing: while a client's departure waits for the agent's
 * confirmation, each ready made the relay queue a ping for the agent, so the queue, and the host
 * relay's memory, grew without bound. The relay tells the agent a ready's frames once the last
 * ready's are out, so it queues one ready's worth at most, and reads the agent on (stopping to read
 * it could deadlock with an agent that stops reading while its output waits).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RelayReadyFloodTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** 200 MiB of readies, about 3 million: a ping each would be about 75 MB queued. */
    private static final long FLOOD_BYTES = 200L << 20;

    @Test
    void readiesWithoutEndQueueOneReadysFramesAtMostForAnAgentThatReadsNothing(@TempDir Path dir) throws Exception {
        try (ScriptedPort port = ScriptedPort.startReady(dir, WAIT, new Ready(1, 2, 3, "flood"))) {
            port.readyClient().close();
            assertEquals(MessageType.CORE_RELAY_CLIENT_DISCONNECTED, port.agent.receive().type());
            assertEquals(MessageType.CORE_PING, port.agent.receive().type(), "the departure's ping, never answered");
            port.floodFromAgent(readies(1 << 20), FLOOD_BYTES); // the relay reads them all
            Thread.sleep(1000); // the relay has handled the last of them
            assertTrue(port.relay.isRunning(), "the relay goes on");

            // What the relay queued for the agent meanwhile: the socket's buffers' worth of pings at most.
            long queued = port.drainAtAgent();
            assertTrue(queued > 0, "the latest agent is told its ready's ping");
            assertTrue(queued < 1 << 20, "the relay queued " + queued + " bytes for the agent, a ping per ready");
        }
    }

    /** About {@code bytes} of core.ready frames, each start time other than the one before. */
    private static ByteBuffer readies(int bytes) {
        FrameEncoder encoder = new FrameEncoder();
        byte[] a = encoder.encode(new Frame(0, MessageType.CORE_READY, new Ready(1, 2, 3, "flood")));
        byte[] b = encoder.encode(new Frame(0, MessageType.CORE_READY, new Ready(4, 2, 3, "flood")));
        assertEquals(a.length, b.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream(bytes + a.length);
        while (out.size() < bytes) {
            out.writeBytes(a);
            out.writeBytes(b);
        }
        return ByteBuffer.wrap(out.toByteArray());
    }
}
