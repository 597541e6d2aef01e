package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.Ready;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent dies in the middle of a frame and the guest's init starts a new one, which begins with
 * its core.ready: the port's byte stream does not say so, QEMU's QMP does (VSERPORT_CHANGE, open
 * false). The relay, told, drops the cut frame and closes its client, discards the port's bytes
 * until the new agent's ready, and routes from there on as before.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelayAgentDiesMidFrameTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Ready READY = new Ready(11, 22, 33, "scripted");
    private static final Ready FRESH = new Ready(44, 55, 66, "restarted");
    private static final long ID_A = IdRange.slot(0).start() + 1;
    private static final long ID_B = IdRange.slot(1).start() + 1;

    @TempDir
    Path dir;
    private FakeQmp qmp;
    private ScriptedPort port;
    private RawClient agent;
    private final FrameEncoder encoder = new FrameEncoder();
    private final Random random = new Random(7);

    @BeforeEach
    void start() throws Exception {
        qmp = FakeQmp.start(dir.resolve("qmp.sock"));
        port = ScriptedPort.start(dir, WAIT, qmp.path);
        agent = port.agent;
        agent.send(new Frame(0, MessageType.CORE_READY, READY));
        port.relay.awaitAgentReady(WAIT);
        qmp.awaitNegotiated(WAIT);
    }

    @AfterEach
    void stop() throws Exception {
        port.close();
        qmp.close();
    }

    private byte[] data(int size) {
        byte[] bytes = new byte[size];
        random.nextBytes(bytes);
        return bytes;
    }

    private byte[] stdout(long id, byte[] data) {
        return encoder.encode(new Frame(id, MessageType.EXEC_STDOUT, new ExecData(data)));
    }

    private static void assertData(RawClient c, long id, byte[] expected, String what) throws Exception {
        Frame f = within(c::receive, what);
        assertEquals(id, f.id(), what);
        assertEquals(MessageType.EXEC_STDOUT, f.type(), what);
        assertArrayEquals(expected, ((ExecData) f.payload()).data(), what);
    }

    private interface Receive {
        Frame get() throws Exception;
    }

    /** The next frame, within 10 s (a relay that misreads the stream would leave the test hanging). */
    private static Frame within(Receive r, String what) throws Exception {
        CompletableFuture<Frame> f = CompletableFuture.supplyAsync(() -> {
            try {
                return r.get();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("nothing within 10 s: " + what, e);
        }
    }

    /** {@code c}'s connection ends within 10 s (after whatever part of a frame it had). */
    private static void assertClosed(RawClient c, String what) throws Exception {
        try {
            Frame f = within(c::receive, what);
            throw new AssertionError(what + ": got " + f.type() + " on id " + f.id() + " instead");
        } catch (ExecutionException e) {
            assertTrue(e.getCause().getCause() instanceof IOException, what + ": " + e.getCause());
        }
    }

    /**
     * Every byte {@code c} reads until the relay closes it, read as it comes from another thread
     * from now on ({@link RawClient#receive} must have read none of them).
     */
    private static CompletableFuture<byte[]> readingToTheEnd(RawClient c) {
        return CompletableFuture.supplyAsync(() -> {
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            ByteBuffer in = ByteBuffer.allocate(64 * 1024);
            try {
                while (c.channel().read(in.clear()) >= 0) {
                    got.write(in.array(), 0, in.position());
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return got.toByteArray();
        });
    }

    /**
     * What the client read until its connection ended (within 10 s) is the start of {@code frame}, at
     * most the {@code sent} bytes of it the agent wrote before it died, and nothing else: whatever
     * the relay wrote after the cut frame's bytes would be read as more of that frame.
     */
    private static void assertCutFrameThenClosed(CompletableFuture<byte[]> reading, byte[] frame, int sent,
            String what) throws Exception {
        byte[] got;
        try {
            got = reading.get(10, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("not closed within 10 s: " + what, e);
        }
        assertTrue(got.length > 0, what + ": it had part of the frame before the agent died");
        assertTrue(got.length <= sent, what + ": it got " + got.length + " bytes, past the " + sent
                + " of the frame the agent wrote before it died");
        assertArrayEquals(Arrays.copyOf(frame, got.length), got, what + ": the frame's start, nothing after it");
    }

    /** The new agent: its ready, then a frame for b; b gets both, and the relay caches the new ready. */
    private void newAgentReachesB(RawClient b) throws Exception {
        agent.send(new Frame(0, MessageType.CORE_READY, FRESH));
        byte[] forB = data(1000);
        agent.sendRaw(stdout(ID_B, forB));
        assertEquals(new Frame(0, MessageType.CORE_READY, FRESH), within(b::receive, "the new agent's ready"));
        assertData(b, ID_B, forB, "b's frame from the new agent");
        assertEquals(FRESH, port.relay.awaitAgentReady(WAIT));
    }

    @Test
    void aFrameSplicedToItsClientWhenTheAgentDiesClosesThatClientAndTheNewAgentIsHeard() throws Exception {
        try (RawClient a = port.readyClient(); RawClient b = port.readyClient()) {
            byte[] cut = stdout(ID_A, data(2 * 1024 * 1024));
            agent.sendRaw(Arrays.copyOfRange(cut, 0, 300_000));
            Thread.sleep(200); // the relay splices it to a, and waits for the rest
            qmp.portChanged(QmpPortWatch.PORT_DEVICE_ID, false);
            assertClosed(a, "a, whose frame was cut");
            // QEMU flushes some late bytes of the dead agent, then the new one starts
            agent.sendRaw(Arrays.copyOfRange(cut, 300_000, 420_000));
            newAgentReachesB(b);
        }
    }

    /**
     * A refusal the relay owes a client while a frame of the agent is being spliced to it waits
     * behind that frame (RelaySplicedFramesTest); the agent dies in the middle of it. The client is
     * closed at once after the bytes of the cut frame it had, without the refusal: written after
     * them, it would be read as more of that frame. What was held back goes with the connection
     * (ClientDepartures.drop, which tells the agent; ClientOutput.forget), never handed on at the cut.
     */
    @Test
    void aRefusalHeldBackBehindAFrameTheAgentDiesInTheMiddleOfIsNotWrittenAfterIt() throws Exception {
        // a ping on another slot's id: a's refusal waits behind the frame, a stays open
        agentDiesWhileARefusalWaitsBehindTheFrame(
                a -> a.send(new Frame(IdRange.slot(5).start(), MessageType.CORE_PING, Empty.INSTANCE)),
                "a, its frame cut while its refusal waited behind it");
    }

    /**
     * The same with a client that is closing after its refusal (a bad frame length): the refusal and
     * the close wait behind the frame being spliced to it, and when the agent dies in its middle the
     * client is closed at once, the refusal not written after the cut frame's bytes.
     */
    @Test
    void aClientClosingBehindAFrameTheAgentDiesInTheMiddleOfGetsNoRefusalAfterIt() throws Exception {
        // a frame length below 5: a's refusal, and its close, wait behind the frame
        agentDiesWhileARefusalWaitsBehindTheFrame(a -> a.sendRaw(new byte[] {0, 0, 0, 1}),
                "a, closing behind a frame that was cut");
    }

    /** What client a sends that the relay must refuse. */
    private interface Refused {
        void sendFrom(RawClient a) throws Exception;
    }

    /**
     * The agent starts a frame the relay splices to a, a sends {@code refused}, and the agent dies:
     * a reads the cut frame's start and then its end (no refusal after it), the agent hears of a's
     * departure, and the new agent reaches b.
     */
    private void agentDiesWhileARefusalWaitsBehindTheFrame(Refused refused, String what) throws Exception {
        try (RawClient a = port.readyClient(); RawClient b = port.readyClient()) {
            CompletableFuture<byte[]> reading = readingToTheEnd(a); // a reads all it is sent
            byte[] cut = stdout(ID_A, data(2 * 1024 * 1024));
            agent.sendRaw(Arrays.copyOfRange(cut, 0, 300_000));
            Thread.sleep(200); // the relay splices it to a, and waits for the rest
            refused.sendFrom(a);
            Thread.sleep(200); // the relay has read it, and holds a's refusal back behind the frame
            qmp.portChanged(QmpPortWatch.PORT_DEVICE_ID, false);
            assertCutFrameThenClosed(reading, cut, 300_000, what);
            port.receiveDeparture(IdRange.slot(0));
            agent.sendRaw(Arrays.copyOfRange(cut, 300_000, 420_000));
            newAgentReachesB(b);
        }
    }

    @Test
    void aFrameAssembledInTheRelayWhenTheAgentDiesClosesItsClientAndTheNewAgentIsHeard() throws Exception {
        try (RawClient a = port.readyClient(); RawClient b = port.readyClient()) {
            byte[] cut = stdout(ID_A, data(40 * 1024)); // its rest is too short to splice: assembled
            agent.sendRaw(Arrays.copyOfRange(cut, 0, 20 * 1024));
            Thread.sleep(200);
            qmp.portChanged(QmpPortWatch.PORT_DEVICE_ID, false);
            assertClosed(a, "a, whose frame was cut");
            agent.sendRaw(Arrays.copyOfRange(cut, 20 * 1024, 30 * 1024));
            newAgentReachesB(b);
        }
    }

    @Test
    void theNewAgentsReadyAlreadyReadIntoTheCutFrameIsFoundThere() throws Exception {
        try (RawClient a = port.readyClient(); RawClient b = port.readyClient()) {
            byte[] cut = stdout(ID_A, data(40 * 1024));
            byte[] forB = data(1000);
            // the news of the death comes after the new agent's first bytes
            agent.sendRaw(Arrays.copyOfRange(cut, 0, 20 * 1024));
            agent.send(new Frame(0, MessageType.CORE_READY, FRESH));
            Thread.sleep(200);
            qmp.portChanged(QmpPortWatch.PORT_DEVICE_ID, false);
            assertClosed(a, "a, whose frame was cut");
            agent.sendRaw(stdout(ID_B, forB));
            assertEquals(new Frame(0, MessageType.CORE_READY, FRESH), within(b::receive, "the new agent's ready"));
            assertData(b, ID_B, forB, "b's frame from the new agent");
        }
    }

    @Test
    void anAgentThatDiesBetweenFramesCostsNothing() throws Exception {
        try (RawClient a = port.readyClient(); RawClient b = port.readyClient()) {
            byte[] whole = data(100 * 1024);
            agent.sendRaw(stdout(ID_A, whole));
            assertData(a, ID_A, whole, "a's frame from the old agent");
            qmp.portChanged(QmpPortWatch.PORT_DEVICE_ID, false);
            qmp.portChanged("some-other-port", false);
            Thread.sleep(200);
            qmp.portChanged(QmpPortWatch.PORT_DEVICE_ID, true);
            newAgentReachesB(b);
            assertEquals(new Frame(0, MessageType.CORE_READY, FRESH), within(a::receive, "a too gets the new ready"));
            byte[] forA = data(2000);
            agent.sendRaw(stdout(ID_A, forA));
            assertData(a, ID_A, forA, "a's frame from the new agent");
        }
    }

    /**
     * The usual order: QEMU writes the dead agent's last bytes to the port's socket, then reports the
     * close, which the relay takes before it reads them. Those bytes end in a cut frame; read as the
     * start of a frame, it would swallow the new agent's ready and frames.
     */
    @Test
    void aCutFrameReadAfterTheNewsIsDiscardedUntilTheNewAgentsReady() throws Exception {
        try (RawClient a = port.readyClient(); RawClient b = port.readyClient()) {
            qmp.portChanged(QmpPortWatch.PORT_DEVICE_ID, false);
            Thread.sleep(200);
            byte[] cut = stdout(ID_A, data(40 * 1024));
            agent.sendRaw(Arrays.copyOfRange(cut, 0, 20 * 1024));
            newAgentReachesB(b);
            assertEquals(new Frame(0, MessageType.CORE_READY, FRESH), within(a::receive,
                    "a gets the new ready, nothing of the cut frame"));
        }
    }

    /**
     * The news of the old agent's close comes after the new agent's core.ready was routed: QMP and
     * the port are two streams, and QEMU holds a VSERPORT_CHANGE back up to a second when another
     * came in the second before. The close, stamped before the ready was read, is stale: the new
     * agent's frames go on being routed, not discarded until its next restart.
     */
    @Test
    void aCloseThatComesAfterTheNewAgentsReadyDiscardsNothing() throws Exception {
        try (RawClient a = port.readyClient(); RawClient b = port.readyClient()) {
            long closedAt = QemuClock.nowMicros();
            Thread.sleep(5); // the new agent starts after the old one's port closed
            newAgentReachesB(b);
            qmp.portChanged(QmpPortWatch.PORT_DEVICE_ID, false, closedAt);
            Thread.sleep(200); // the relay takes the news before the next frame
            byte[] forB = data(1000);
            agent.sendRaw(stdout(ID_B, forB));
            assertData(b, ID_B, forB, "b's frame from the new agent, after the stale close");
        }
    }

    @Test
    void anotherPortsCloseDropsNothing() throws Exception {
        try (RawClient a = port.readyClient()) {
            byte[] frame = stdout(ID_A, data(40 * 1024));
            agent.sendRaw(Arrays.copyOfRange(frame, 0, 20 * 1024));
            qmp.portChanged("some-other-port", false);
            Thread.sleep(200);
            agent.sendRaw(Arrays.copyOfRange(frame, 20 * 1024, frame.length));
            assertEquals(ID_A, within(a::receive, "the frame, whole").id());
        }
    }

    @Test
    void aQmpSocketThatIsNotThereLeavesTheRelayAsItWas() throws Exception {
        port.close();
        Path other = dir.resolve("other");
        java.nio.file.Files.createDirectories(other);
        port = ScriptedPort.start(other, WAIT, other.resolve("missing-qmp.sock"));
        agent = port.agent;
        agent.send(new Frame(0, MessageType.CORE_READY, READY));
        try (RawClient a = port.readyClient()) {
            byte[] whole = data(100 * 1024);
            agent.sendRaw(stdout(ID_A, whole));
            assertData(a, ID_A, whole, "a's frame");
        }
    }
}
