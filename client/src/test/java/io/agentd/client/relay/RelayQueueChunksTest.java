package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.Ready;
import java.io.ByteArrayOutputStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a client that never reads costs the relay in direct memory: its queue's bytes, not a chunk per
 * frame. The case a review found: a refusal (a frame on another client's id) and a ping on its own
 * id, over and over; each refusal was an entry of its own, so each pong the agent sent back opened a
 * new 256 KiB chunk for a few bytes: 2,000 pairs took 347 MiB, and at 1,630 pairs under a 256 MiB
 * direct-memory limit the relay ended for every client with an OutOfMemoryError.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RelayQueueChunksTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int PAIRS = 2000;

    @TempDir
    Path dir;

    private static long directBytes() {
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                return pool.getMemoryUsed();
            }
        }
        throw new AssertionError("no direct buffer pool");
    }

    @Test
    void refusalsBetweenPongsShareTheQueuesChunks() throws Exception {
        Ready ready = new Ready(11, 22, 33, "scripted", List.of(Ready.FEATURE_RELAY_FLOW));
        try (ScriptedPort port = ScriptedPort.startReady(dir, WAIT, ready); RawClient client = port.readyClient()) {
            IdRange own = IdRange.slot(0);
            FrameEncoder encoder = new FrameEncoder();
            byte[] foreign = encoder.encode(new Frame(IdRange.slot(1).start(), MessageType.CORE_PING, Empty.INSTANCE));
            // The client's socket buffer filled with refusals first: from then on its answers queue.
            ByteArrayOutputStream fill = new ByteArrayOutputStream();
            for (int i = 0; i < 4000; i++) {
                fill.writeBytes(foreign);
            }
            client.sendRaw(fill.toByteArray());
            Thread.sleep(500);
            long before = directBytes();
            for (int k = 0; k < PAIRS; k++) {
                ByteArrayOutputStream pair = new ByteArrayOutputStream();
                pair.writeBytes(foreign);
                pair.writeBytes(encoder.encode(new Frame(own.start() + k, MessageType.CORE_PING, Empty.INSTANCE)));
                client.sendRaw(pair.toByteArray());
                Frame ping = port.agent.receive();
                assertEquals(MessageType.CORE_PING, ping.type(), "pair " + k + ": " + ping);
                port.agent.send(new Frame(ping.id(), MessageType.CORE_PONG, Empty.INSTANCE));
            }
            Thread.sleep(500); // the last pongs reach the client's queue
            long grown = directBytes() - before;
            assertTrue(port.relay.isRunning(), "the relay ended");
            // 2,000 pairs queue well under 1 MiB: a few chunks at most, not 2,000.
            assertTrue(grown <= 8L * ChunkPool.CHUNK, "direct memory grew by " + (grown >> 10) + " KiB");
        }
    }
}
