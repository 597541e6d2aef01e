package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.Ready;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients that each send most of a 4 MiB frame and stop hold no more of the relay's memory together
 * than {@link PartialFramesBudget#PARTIAL_FRAMES_BUDGET}: the ones past it are not read (their writes stay
 * blocked), none is dropped, a client sending small frames is served all the while, and one that
 * waited is read once a frame before it is gone. Before, the relay read every one of them whole:
 * 128 such clients held 512 MiB, and the OutOfMemoryError ended the relay for everyone.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RelayPartialFramesBudgetTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int CLIENTS = 24;
    /** A frame of the largest length: its whole but the last 100 bytes are sent. */
    private static final int FRAME_BYTES = (int) Protocol.MAX_FRAME_LEN + Protocol.LENGTH_BYTES;

    @TempDir
    Path dir;

    @Test
    void largeFramesLeftUnfinishedHoldNoMoreThanTheBudgetAndTheOthersAreServed() throws Exception {
        try (ScriptedPort port = ScriptedPort.startReady(dir, WAIT, new Ready(1, 2, 3, "scripted"))) {
            List<RawClient> clients = new ArrayList<>();
            List<CompletableFuture<Void>> sent = new ArrayList<>();
            java.util.concurrent.ExecutorService writers = java.util.concurrent.Executors.newFixedThreadPool(CLIENTS);
            try {
                for (int i = 0; i < CLIENTS; i++) {
                    RawClient c = port.greetedClient();
                    clients.add(c);
                    IdRange range = IdRange.slot(i);
                    ByteBuffer head = ByteBuffer.allocate(FRAME_BYTES - 100);
                    head.putInt(0, (int) Protocol.MAX_FRAME_LEN).putInt(Protocol.LENGTH_BYTES, (int) range.start() + 1);
                    sent.add(CompletableFuture.runAsync(() -> {
                        try {
                            c.sendRaw(head.array());
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }, writers));
                }
                port.answerProbe(); // the first one's: the ready goes to every one (none of them reads it)
                long budgeted = PartialFramesBudget.PARTIAL_FRAMES_BUDGET / FRAME_BYTES;
                int whole = awaitSent(sent, (int) budgeted, 10_000);
                Thread.sleep(1000); // any more the relay would read
                whole = count(sent);
                assertTrue(whole <= budgeted, whole + " of " + CLIENTS + " clients' 4 MiB were read; the budget holds "
                        + budgeted);
                assertEquals(CLIENTS, port.relay.clientCount(), "none was dropped");

                // A client sending small frames is served meanwhile.
                port.relay.awaitAgentReady(WAIT);
                try (RawClient small = port.greetedClient()) {
                    port.answerProbe();
                    assertEquals(MessageType.CORE_READY, small.receive().type());
                    Frame ping = new Frame(IdRange.slot(CLIENTS).start() + 1, MessageType.CORE_PING, Empty.INSTANCE);
                    small.send(ping);
                    assertEquals(ping, port.agent.receive());
                }

                // One whose frame was read leaves: the next one waiting is read.
                int done = -1;
                for (int i = 0; i < CLIENTS && done < 0; i++) {
                    if (sent.get(i).isDone()) {
                        done = i;
                    }
                }
                clients.get(done).close();
                awaitSent(sent, whole + 1, 10_000);
                assertEquals(whole + 1, count(sent), "one more read once one left");
            } finally {
                for (RawClient c : clients) {
                    c.close();
                }
                writers.shutdownNow();
            }
        }
    }

    private static int count(List<CompletableFuture<Void>> sent) {
        return (int) sent.stream().filter(CompletableFuture::isDone).count();
    }

    private static int awaitSent(List<CompletableFuture<Void>> sent, int atLeast, long millis) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (count(sent) < atLeast && System.nanoTime() < end) {
            Thread.sleep(50);
        }
        return count(sent);
    }
}
