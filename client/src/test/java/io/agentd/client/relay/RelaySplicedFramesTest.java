package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.RelayClientRange;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's large frames, whose bodies the relay splices from the port to their client without
 * reading them, against a scripted agent on a real unix socket: every frame must still arrive
 * whole, in order, at its own client, however its bytes were cut on the way in.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelaySplicedFramesTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Ready READY = new Ready(11, 22, 33, "scripted");
    private static final long ID_A = IdRange.slot(0).start() + 1;
    private static final long ID_B = IdRange.slot(1).start() + 1;

    @TempDir
    Path dir;
    private ScriptedPort port;
    private RawClient agent;
    private Relay relay;
    private final FrameEncoder encoder = new FrameEncoder();

    @BeforeEach
    void start() throws Exception {
        port = ScriptedPort.startReady(dir, WAIT, READY);
        agent = port.agent;
        relay = port.relay;
    }

    @AfterEach
    void stop() throws Exception {
        port.close();
    }

    private static byte[] data(Random random, int size) {
        byte[] bytes = new byte[size];
        random.nextBytes(bytes);
        return bytes;
    }

    private byte[] stdout(long id, byte[] data) {
        return encoder.encode(new Frame(id, MessageType.EXEC_STDOUT, new ExecData(data)));
    }

    private static void assertData(RawClient c, long id, byte[] expected, String what) throws Exception {
        Frame f = c.receive();
        assertEquals(id, f.id(), what);
        assertEquals(MessageType.EXEC_STDOUT, f.type(), what);
        assertArrayEquals(expected, ((ExecData) f.payload()).data(), what);
    }

    /** Sends {@code bytes} in pieces of the given sizes (the last one takes the rest), pausing between them. */
    private void sendInPieces(byte[] bytes, int... pieces) throws Exception {
        int at = 0;
        for (int piece : pieces) {
            int n = Math.min(piece, bytes.length - at);
            agent.sendRaw(Arrays.copyOfRange(bytes, at, at + n));
            at += n;
            Thread.sleep(30); // the relay splices what came, then waits for more
        }
        agent.sendRaw(Arrays.copyOfRange(bytes, at, bytes.length));
    }

    @Test
    void aFrameWhoseBodyComesInPiecesArrivesWholeAndIsSpliced() throws Exception {
        Random random = new Random(1);
        try (RawClient a = port.readyClient()) {
            byte[] small = data(random, 100);
            byte[] big = data(random, 3 * 1024 * 1024); // more than a pipe holds
            byte[] next = data(random, 200 * 1024);
            // the header alone, then odd pieces of the body; small frames before and after it
            // the client reads as it comes: the relay holds only a pipe's worth for a client that does not
            CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
                try {
                    assertData(a, ID_A, small, "the small frame before");
                    assertData(a, ID_A, big, "the large frame");
                    assertData(a, ID_A, next, "the frame after");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            agent.sendRaw(stdout(ID_A, small));
            sendInPieces(stdout(ID_A, big), 6, 5, 40_000, 1, 700_000, 123_457);
            agent.sendRaw(stdout(ID_A, next));
            reader.get(30, TimeUnit.SECONDS);
            assertTrue(relay.splicedBytes() > 3_000_000, "the bodies were spliced, not read: " + relay.splicedBytes());
        }
    }

    @Test
    void smallAndLargeFramesOfTwoClientsInterleavedReachEachItsOwnInOrder() throws Exception {
        Random random = new Random(2);
        try (RawClient a = port.readyClient(); RawClient b = port.readyClient()) {
            List<byte[]> forA = new ArrayList<>();
            List<byte[]> forB = new ArrayList<>();
            List<byte[]> stream = new ArrayList<>();
            for (int i = 0; i < 120; i++) {
                boolean toA = random.nextBoolean();
                int size = random.nextInt(3) == 0 ? 1 + random.nextInt(2000)
                        : FrameRestSplice.SPLICE_MIN + random.nextInt(1024 * 1024);
                byte[] d = data(random, size);
                (toA ? forA : forB).add(d);
                stream.add(stdout(toA ? ID_A : ID_B, d));
            }
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    for (byte[] frame : stream) {
                        // cut anywhere: a piece may end inside a header, or hold several frames
                        int at = 0;
                        while (at < frame.length) {
                            int n = Math.min(frame.length - at, 1 + random.nextInt(300_000));
                            agent.sendRaw(Arrays.copyOfRange(frame, at, at + n));
                            at += n;
                        }
                    }
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            CompletableFuture<Void> readerB = CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; i < forB.size(); i++) {
                        assertData(b, ID_B, forB.get(i), "b's frame " + i);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            for (int i = 0; i < forA.size(); i++) {
                assertData(a, ID_A, forA.get(i), "a's frame " + i);
            }
            readerB.get(30, TimeUnit.SECONDS);
            writer.get(30, TimeUnit.SECONDS);
            assertTrue(relay.splicedBytes() > 0, "some bodies were spliced");
        }
    }

    @Test
    void aClientThatStopsReadingMidFrameHoldsUpTheAgentAndLosesNothing() throws Exception {
        Random random = new Random(3);
        try (RawClient slow = port.readyClient(); RawClient other = port.readyClient()) {
            byte[][] frames = new byte[12][];
            for (int i = 0; i < frames.length; i++) {
                frames[i] = data(random, 2 * 1024 * 1024); // 24 MiB in all: past every buffer
            }
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    for (byte[] frame : frames) {
                        agent.sendRaw(stdout(ID_A, frame));
                    }
                    agent.send(new Frame(ID_B, MessageType.CORE_PONG, Empty.INSTANCE));
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(1000);
            assertFalse(writer.isDone(), "the relay stopped reading the agent: its writes block");
            for (int i = 0; i < frames.length; i++) {
                assertData(slow, ID_A, frames[i], "frame " + i);
            }
            writer.get(10, TimeUnit.SECONDS);
            assertEquals(new Frame(ID_B, MessageType.CORE_PONG, Empty.INSTANCE), other.receive());
        }
    }

    @Test
    void aClientThatLeavesMidFrameCostsTheOthersNothing() throws Exception {
        Random random = new Random(4);
        RawClient leaving = port.readyClient();
        try (RawClient other = port.readyClient()) {
            byte[] cut = stdout(ID_A, data(random, 2 * 1024 * 1024));
            agent.sendRaw(Arrays.copyOfRange(cut, 0, 300_000));
            Thread.sleep(200); // the relay has spliced part of it to the leaving client
            leaving.close();
            Frame notice = agent.receive();
            assertEquals(MessageType.CORE_RELAY_CLIENT_DISCONNECTED, notice.type());
            assertEquals(new RelayClientRange(IdRange.slot(0).start(), IdRange.slot(0).endExclusive()),
                    notice.payload());
            // the rest of the frame is still in the port's stream: skipped, and the next frame found
            agent.sendRaw(Arrays.copyOfRange(cut, 300_000, cut.length));
            byte[] forOther = data(random, 1024 * 1024);
            agent.sendRaw(stdout(ID_B, forOther));
            assertData(other, ID_B, forOther, "the other client's frame after the cut one");
        }
    }

    @Test
    void aRefusalDueWhileAFrameIsSplicedComesAfterThatFrameNotInsideIt() throws Exception {
        Random random = new Random(5);
        try (RawClient a = port.readyClient()) {
            byte[] big = data(random, 2 * 1024 * 1024);
            byte[] frame = stdout(ID_A, big);
            agent.sendRaw(Arrays.copyOfRange(frame, 0, 500_000));
            Thread.sleep(200); // the frame is being spliced to a
            long foreign = IdRange.slot(5).start();
            a.send(new Frame(foreign, MessageType.CORE_PING, Empty.INSTANCE));
            Thread.sleep(200); // the relay has read the foreign frame and owes a its refusal
            agent.sendRaw(Arrays.copyOfRange(frame, 500_000, frame.length));
            assertData(a, ID_A, big, "the spliced frame, whole");
            Frame refusal = a.receive();
            assertEquals(foreign, refusal.id());
            assertEquals(MessageType.CORE_ERROR, refusal.type());
            assertEquals("invalid_session", ((ErrorPayload) refusal.payload()).kind());
        }
    }

    /**
     * A client that sends a length no frame may have is closed after a malformed_message refusal;
     * while a frame of the agent is being spliced to it, the refusal waits behind that frame, and the
     * close with it: the client gets the frame whole, then the refusal, then the end.
     */
    @Test
    void aClientClosedForABadLengthWhileAFrameIsSplicedToItGetsTheFrameThenTheRefusal() throws Exception {
        Random random = new Random(7);
        try (RawClient a = port.readyClient()) {
            byte[] big = data(random, 2 * 1024 * 1024);
            byte[] frame = stdout(ID_A, big);
            agent.sendRaw(Arrays.copyOfRange(frame, 0, 500_000));
            Thread.sleep(200); // the frame is being spliced to a
            a.sendRaw(new byte[] {0, 0, 0, 1}); // a frame length below 5
            Thread.sleep(200); // the relay has read it and owes a its refusal
            agent.sendRaw(Arrays.copyOfRange(frame, 500_000, frame.length));
            assertData(a, ID_A, big, "the spliced frame, whole");
            Frame refusal = a.receive();
            assertEquals(0, refusal.id());
            assertEquals(MessageType.CORE_ERROR, refusal.type());
            assertEquals("malformed_message", ((ErrorPayload) refusal.payload()).kind());
            assertTrue(a.atEof(), "the connection ends after the refusal");
        }
    }

    @Test
    void aLargeFrameOnAnIdNobodyHoldsIsSkippedWhole() throws Exception {
        Random random = new Random(6);
        try (RawClient a = port.readyClient()) {
            long nobody = IdRange.slot(40).start();
            agent.sendRaw(stdout(nobody, data(random, Protocol.MAX_FRAME_LEN - 100)));
            byte[] mine = data(random, 64 * 1024);
            agent.sendRaw(stdout(ID_A, mine));
            assertData(a, ID_A, mine, "the frame after the dropped one");
        }
    }
}
