package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.RelayClientRange;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The budget of all the clients' queues together (FlowControl.QUEUE_BUDGET, 8 MiB here): two clients
 * that do not read, each below its own held mark, pass it together; the relay then reads nothing
 * more from the agent, the largest queue's client holds everyone up and, reading nothing for the
 * limit, is dropped; then the others are served again, and the other slow client loses nothing.
 * Before, 128 clients could each queue up to their own marks, 2 GiB together, and the
 * OutOfMemoryError that followed ended the relay for all of them.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelayQueueBudgetTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final long BUDGET = 8L * 1024 * 1024;
    private static final int FRAME_BYTES = 1024 * 1024;
    private static final int FRAMES_EACH = 8;
    private static final Ready READY = new Ready(11, 22, 33, "scripted", List.of(Ready.FEATURE_RELAY_FLOW));
    private static final IdRange FIRST = IdRange.slot(0);
    private static final long ID_A = FIRST.start() + 1;
    private static final long ID_B = IdRange.slot(1).start() + 1;
    private static final long ID_C = IdRange.slot(2).start() + 1;

    @TempDir
    Path dir;

    @Test
    void clientsPastTheBudgetTogetherHoldEveryoneUpUntilTheLargestIsDropped() throws Exception {
        try (ScriptedPort port = ScriptedPort.startReady(dir, WAIT, READY, BUDGET);
                RawClient a = port.readyClient(); RawClient b = port.readyClient(); RawClient c = port.readyClient()) {
            byte[][] forA = frames(1);
            byte[][] forB = frames(2);
            FrameEncoder encoder = new FrameEncoder();
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    for (byte[] f : forA) {
                        port.agent.sendRaw(encoder.encode(new Frame(ID_A, MessageType.EXEC_STDOUT, new ExecData(f))));
                    }
                    for (byte[] f : forB) {
                        port.agent.sendRaw(encoder.encode(new Frame(ID_B, MessageType.EXEC_STDOUT, new ExecData(f))));
                    }
                    port.agent.send(new Frame(ID_C, MessageType.CORE_PONG, Empty.INSTANCE));
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            CompletableFuture<Frame> toC = CompletableFuture.supplyAsync(() -> {
                try {
                    return c.receive();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            long start = System.nanoTime();
            Thread.sleep(2000);
            assertFalse(toC.isDone(), "past the budget nothing more is read from the agent: " + (toC.isDone() ? toC.get() : ""));
            assertFalse(writer.isDone(), "the agent's frames wait in the port");

            // A, the largest queue when the budget passed, reads nothing: dropped at the limit.
            Frame disconnected = new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED,
                    new RelayClientRange(FIRST.start(), FIRST.endExclusive()));
            while (true) {
                Frame f = port.agent.receive();
                if (f.equals(disconnected)) {
                    break;
                }
                assertEquals(MessageType.CORE_RELAY_CLIENT_PAUSED, f.type(), "only pauses before it: " + f);
            }
            assertTrue(System.nanoTime() - start >= FlowControl.HOLD_UP_LIMIT_NANOS - TimeUnit.SECONDS.toNanos(1),
                    "not dropped before the limit");
            assertEquals(new Frame(ID_C, MessageType.CORE_PONG, Empty.INSTANCE), toC.get(20, TimeUnit.SECONDS),
                    "the others are served again");
            writer.get(10, TimeUnit.SECONDS);
            for (int i = 0; i < FRAMES_EACH; i++) {
                Frame f = b.receive();
                assertEquals(ID_B, f.id(), "frame " + i);
                assertArrayEquals(forB[i], ((ExecData) f.payload()).data(), "frame " + i + " of the client kept");
            }
        }
    }

    private static byte[][] frames(int seed) {
        Random random = new Random(seed);
        byte[][] frames = new byte[FRAMES_EACH][FRAME_BYTES];
        for (byte[] f : frames) {
            random.nextBytes(f);
        }
        return frames;
    }
}
