package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Ready;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent that sends core.ready without end (a new start time each, as a guest in a restart loop,
 * or a compromised one, may) and reads nothing: while a client's departure waits for the agent's
 * confirmation, each ready makes the relay queue a ping for the agent, so reading on grew that queue, and the host
 * relay's memory, without bound. The relay stops reading the agent past its port queue's limit,
 * and reads on once the agent takes its input.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RelayReadyFloodTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** Far more readies than the limit's worth of pings take (about 50 MB): without the limit, all go in. */
    private static final long FLOOD_BYTES = 200L << 20;

    @Test
    void theRelayStopsReadingAnAgentThatFloodsReadiesAndReadsNothing(@TempDir Path dir) throws Exception {
        try (ScriptedPort port = ScriptedPort.startReady(dir, WAIT, new Ready(1, 2, 3, "flood"))) {
            port.readyClient().close();
            assertEquals(MessageType.CORE_RELAY_CLIENT_DISCONNECTED, port.agent.receive().type());
            assertEquals(MessageType.CORE_PING, port.agent.receive().type(), "the departure's ping, never answered");
            SocketChannel agent = port.agent.channel();
            ByteBuffer batch = readies(1 << 20);
            AtomicLong written = new AtomicLong();
            Thread flood = new Thread(() -> {
                try {
                    while (written.get() < FLOOD_BYTES) {
                        batch.clear();
                        while (batch.hasRemaining()) {
                            written.addAndGet(agent.write(batch));
                        }
                    }
                } catch (Exception e) {
                    // the test's end closes the socket
                }
            }, "ready-flood");
            flood.setDaemon(true);
            flood.start();
            long last = -1;
            while (flood.isAlive() && written.get() != last) { // until the relay stops taking them
                last = written.get();
                Thread.sleep(2000);
            }
            long taken = written.get();
            assertTrue(taken < FLOOD_BYTES, "the relay read " + (taken >> 20) + " MiB of readies without stopping");
            assertTrue(port.relay.isRunning(), "the relay goes on");

            // The agent reads its input again: the relay's pings, then it reads the agent on.
            ByteBuffer drain = ByteBuffer.allocateDirect(1 << 20);
            long deadline = System.nanoTime() + WAIT.toNanos() * 3;
            while (written.get() == taken && System.nanoTime() < deadline) {
                drain.clear();
                agent.read(drain);
            }
            assertTrue(written.get() > taken, "the relay reads the agent again once its queue drains");
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
