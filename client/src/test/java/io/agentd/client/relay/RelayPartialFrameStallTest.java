package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ErrorPayload;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client holding room in {@link PartialFramesBudget#PARTIAL_FRAMES_BUDGET} for a large frame it moves on by
 * less than {@link PartialFramesBudget#PARTIAL_FRAME_PROGRESS_BYTES} in {@link PartialFramesBudget#PARTIAL_FRAME_STALL_NANOS}
 * (made short here) is told why and closed, and its room goes to the frames waiting for it. Before,
 * clients that stopped in the middle of their frames held the budget for ever, and another
 * client's large frame (an upload) waited behind them for ever. A client that keeps sending, slowly,
 * or that the relay itself does not read, is not closed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RelayPartialFrameStallTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** A frame of the largest length. */
    private static final int FRAME_BYTES = (int) Protocol.MAX_FRAME_LEN + Protocol.LENGTH_BYTES;

    @TempDir
    Path dir;

    private final ExecutorService writers = Executors.newCachedThreadPool();
    private final List<RawClient> clients = new ArrayList<>();

    @AfterEach
    void closeClients() throws Exception {
        for (RawClient c : clients) {
            c.close();
        }
        writers.shutdownNow();
    }

    /** A frame of {@code bytes} (prefix included) on the first id of slot {@code slot}, its body a pattern. */
    private static byte[] frame(int slot, int bytes) {
        byte[] frame = new byte[bytes];
        for (int i = 8; i < bytes; i++) {
            frame[i] = (byte) (i * 31 + slot);
        }
        ByteBuffer.wrap(frame).putInt(0, bytes - Protocol.LENGTH_BYTES).putInt(4, (int) IdRange.slot(slot).start());
        return frame;
    }

    private CompletableFuture<Void> sendAsync(RawClient c, byte[] bytes, int from, int to) {
        return CompletableFuture.runAsync(() -> {
            try {
                c.sendRaw(Arrays.copyOfRange(bytes, from, to));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, writers);
    }

    private RawClient client(ScriptedPort port) throws Exception {
        RawClient c = port.greetedClient();
        clients.add(c);
        return c;
    }

    /** {@code blocking}'s result, which must come within {@link #WAIT} (a read that blocks for ever fails the test). */
    private <T> T within(String what, Callable<T> blocking) throws Exception {
        Future<T> result = writers.submit(blocking);
        try {
            return result.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            result.cancel(true);
            throw new AssertionError(what + ": not within " + WAIT.toSeconds() + " s");
        } catch (ExecutionException e) {
            throw new AssertionError(what + ": " + e.getCause(), e.getCause());
        }
    }

    /** The agent reads frames until one on {@code id} comes, and returns it (departure notices and others skipped). */
    private byte[] agentReceivesOn(ScriptedPort port, long id, String what) throws Exception {
        return within(what, () -> {
            while (true) {
                byte[] f = port.agent.receiveFrameBytes();
                if (Integer.toUnsignedLong(ByteBuffer.wrap(f).getInt(4)) == id) {
                    return f;
                }
            }
        });
    }

    /** What a closed client was told last: the relay's core.error on id 0, then the connection's end. */
    private void toldWhyAndClosed(RawClient c, String who) throws Exception {
        Frame error = within(who + " is told why it is closed", c::receive);
        assertEquals(MessageType.CORE_ERROR, error.type(), error.toString());
        assertEquals(Protocol.CONTROL_ID, error.id());
        String message = ((ErrorPayload) error.payload()).message();
        assertTrue(message.contains("less than 64 KiB more of a frame of") && message.contains("closes this connection"),
                message);
        assertTrue(within(who + " is closed", c::atEof), who + " is closed after it");
    }

    @Test
    void clientsStoppedMidFrameAreClosedAndTheUploadWaitingForTheirRoomGoesThrough() throws Exception {
        Duration stall = Duration.ofSeconds(3);
        try (ScriptedPort port = ScriptedPort.start(dir, WAIT, null, FlowControl.QUEUE_BUDGET, stall)) {
            int budgeted = (int) (PartialFramesBudget.PARTIAL_FRAMES_BUDGET / FRAME_BYTES); // 15
            long began = System.nanoTime();
            List<CompletableFuture<Void>> sent = new ArrayList<>();
            for (int slot = 0; slot < budgeted; slot++) {
                // All of a frame but its last 100 bytes, and nothing more: the budget is full.
                sent.add(sendAsync(client(port), frame(slot, FRAME_BYTES), 0, FRAME_BYTES - 100));
            }
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);

            RawClient uploader = client(port);
            byte[] upload = frame(budgeted, FRAME_BYTES);
            CompletableFuture<Void> uploaded = sendAsync(uploader, upload, 0, FRAME_BYTES);
            Thread.sleep(300);
            if (System.nanoTime() - began < stall.toNanos() - TimeUnit.MILLISECONDS.toNanos(500)) {
                assertFalse(uploaded.isDone(), "the upload waits for room while the others hold it");
            }

            assertArrayEquals(upload, agentReceivesOn(port, IdRange.slot(budgeted).start(),
                    "the upload reaches the agent once the clients that stopped are closed"), "whole");
            uploaded.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            for (int slot = 0; slot < budgeted; slot++) {
                toldWhyAndClosed(clients.get(slot), "client " + slot);
            }
            assertEquals(1, port.relay.clientCount(), "the uploader stays");
        }
    }

    @Test
    void aClientSendingItsFrameSlowlyStaysAndOneSendingAByteNowAndThenIsClosed() throws Exception {
        Duration stall = Duration.ofMillis(1500);
        int bytes = 512 * 1024; // over FrameSplitter.FIRST_CAPACITY: it takes room in the budget
        int chunk = (int) PartialFramesBudget.PARTIAL_FRAME_PROGRESS_BYTES;
        try (ScriptedPort port = ScriptedPort.start(dir, WAIT, null, FlowControl.QUEUE_BUDGET, stall)) {
            RawClient slow = client(port);
            RawClient trickler = client(port);
            byte[] slowFrame = frame(0, bytes);
            byte[] trickled = frame(1, bytes);
            CompletableFuture<Void> slowSent = CompletableFuture.runAsync(() -> {
                try {
                    for (int at = 0; at < bytes; at += chunk) { // 64 KiB every 400 ms: 3.2 s, over two stall times
                        slow.sendRaw(Arrays.copyOfRange(slowFrame, at, Math.min(bytes, at + chunk)));
                        Thread.sleep(400);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, writers);
            CompletableFuture<Void> trickle = CompletableFuture.runAsync(() -> {
                try {
                    trickler.sendRaw(Arrays.copyOfRange(trickled, 0, 1024));
                    for (int at = 1024; at < bytes; at += 1024) { // 1 KiB every 100 ms: 15 KiB a stall time
                        Thread.sleep(100);
                        trickler.sendRaw(Arrays.copyOfRange(trickled, at, at + 1024));
                    }
                } catch (Exception e) {
                    // closed by the relay: expected
                }
            }, writers);

            assertArrayEquals(slowFrame, agentReceivesOn(port, IdRange.slot(0).start(), "the slow frame arrives"), "whole");
            slowSent.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            toldWhyAndClosed(trickler, "the client sending a byte now and then");
            trickle.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertEquals(1, port.relay.clientCount(), "the slow client stays");
        }
    }

    /**
     * While the port's queue is past its mark the relay reads no client: that time is not the
     * client's, though it lasts longer than its time to move its frame on.
     */
    @Test
    void timeTheRelayReadsNoClientIsNotTheClients() throws Exception {
        Duration stall = Duration.ofSeconds(1);
        try (ScriptedPort port = ScriptedPort.start(dir, WAIT, null, FlowControl.QUEUE_BUDGET, stall)) {
            RawClient uploader = client(port);
            RawClient flooder = client(port);
            byte[] upload = frame(0, FRAME_BYTES);
            uploader.sendRaw(Arrays.copyOfRange(upload, 0, 300 * 1024)); // its room taken
            Thread.sleep(100);

            // 16 MiB of 64 KiB frames, which the agent does not read: past the port's mark, no client is read.
            int floodFrame = 64 * 1024;
            byte[] flood = new byte[16 * 1024 * 1024];
            for (int at = 0; at < flood.length; at += floodFrame) {
                ByteBuffer.wrap(flood).putInt(at, floodFrame - Protocol.LENGTH_BYTES)
                        .putInt(at + 4, (int) IdRange.slot(1).start());
            }
            CompletableFuture<Void> flooded = sendAsync(flooder, flood, 0, flood.length);
            Thread.sleep(300);
            CompletableFuture<Void> uploaded = sendAsync(uploader, upload, 300 * 1024, FRAME_BYTES);
            Thread.sleep(3 * stall.toMillis());
            assertFalse(flooded.isDone(), "the relay reads no client while the port's queue is past its mark");
            assertFalse(uploaded.isDone(), "the uploader was neither read nor closed meanwhile");

            assertArrayEquals(upload, agentReceivesOn(port, IdRange.slot(0).start(), "the upload arrives"), "whole");
            uploaded.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertEquals(2, port.relay.clientCount(), "neither was closed");
        }
    }
}
