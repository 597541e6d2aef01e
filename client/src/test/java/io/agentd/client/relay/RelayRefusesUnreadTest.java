package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Ready;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The relay refuses a client's frame on id 0 past {@link ClientFrames#CONTROL_FRAME_MAX}, and any frame
 * on an id outside the client's range, without decoding it: a client could make that decode slow
 * (4 MiB of distinct map keys), on the one thread that serves every client. What the refusals show
 * is what the relay read: a frame it would have taken had it decoded it is refused, and a type the
 * envelope gives only after megabytes is not named.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelayRefusesUnreadTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Ready READY = new Ready(11, 22, 33, "scripted");
    /** Frames this long cost the protocol's decoder 0.3-0.6 s when made of distinct keys. */
    private static final int LONG = Protocol.MAX_FRAME_LEN - 64;

    @TempDir
    Path dir;
    private ScriptedPort port;
    private RawClient agent;
    private final FrameEncoder encoder = new FrameEncoder();

    @BeforeEach
    void start() throws Exception {
        port = ScriptedPort.startReady(dir, WAIT, READY);
        agent = port.agent;
    }

    @AfterEach
    void stop() throws Exception {
        port.close();
    }

    /**
     * A core.shutdown padded with unknown envelope keys to 4 MiB is a frame the decoder accepts (and
     * the relay forwards a core.shutdown): refused, it was not decoded. The refusal names its type,
     * read from the envelope's first bytes.
     */
    @Test
    void aLongFrameOnId0IsRefusedUnreadThoughItIsAShutdown() throws Exception {
        try (RawClient attacker = port.readyClient(); RawClient other = port.readyClient()) {
            long attackerId = IdRange.slot(0).start() + 1;
            byte[] shutdown = envelope(0, MessageType.CORE_SHUTDOWN.flags(), LONG, Envelope.start("core.shutdown")
                    .key("p").bytes(new byte[] {(byte) 0xf6}));
            Frame ping = new Frame(attackerId, MessageType.CORE_PING, Empty.INSTANCE);
            // From another thread: a relay that forwarded them would stop reading the attacker until
            // the agent read them, and this thread is the agent.
            CompletableFuture<Void> sent = sendAsync(attacker, shutdown, shutdown, shutdown, encoder.encode(ping));
            assertEquals(ping, agent.receive(), "the agent got none of the long frames");
            sent.get(10, TimeUnit.SECONDS);
            for (int i = 0; i < 3; i++) {
                Frame refusal = attacker.receive();
                assertEquals(new Frame(0, MessageType.CORE_ERROR, refusal.payload()), refusal);
                ErrorPayload error = (ErrorPayload) refusal.payload();
                assertEquals("invalid_session", error.kind());
                assertEquals("core.shutdown", error.offendingType());
                assertTrue(error.message().contains(shutdown.length + " bytes on id 0"), error.message());
                assertTrue(error.message().contains("nothing was forwarded"), error.message());
            }
            assertRoundTrip(other, IdRange.slot(1).start() + 1);
        }
    }

    /** A short frame on id 0 is still decoded: a core.shutdown goes through, a ping is refused by its type. */
    @Test
    void aShortFrameOnId0IsStillDecoded() throws Exception {
        try (RawClient c = port.readyClient()) {
            c.send(new Frame(0, MessageType.CORE_PING, Empty.INSTANCE));
            ErrorPayload error = (ErrorPayload) c.receive().payload();
            assertEquals("core.ping", error.offendingType());
            assertTrue(error.message().contains("not core.ping"), error.message());
            c.send(new Frame(0, MessageType.CORE_SHUTDOWN, null));
            assertEquals(MessageType.CORE_SHUTDOWN, agent.receive().type());
        }
    }

    /**
     * Frames on another client's id: one in the reference layout is refused naming its type, one
     * whose type follows 4 MiB of an unknown key is refused naming none, as the relay reads only
     * the envelope's first bytes (a decode would have found it).
     */
    @Test
    void aFrameOnAnotherClientsIdIsRefusedFromItsEnvelopesFirstBytes() throws Exception {
        try (RawClient attacker = port.readyClient(); RawClient other = port.readyClient()) {
            long theirs = IdRange.slot(1).start() + 7;
            attacker.send(new Frame(theirs, MessageType.EXEC_REQUEST, ExecRequest.of("true")));
            ErrorPayload named = refusalOn(attacker, theirs);
            assertEquals("core.exec.request", named.offendingType());
            assertTrue(named.message().contains("outside this client's range"), named.message());

            byte[] typeLast = envelope(theirs, 0, LONG, new Envelope().key("v").u8(Protocol.GENERATION)
                    .key("pad").bytes(new byte[LONG - 200])
                    .key("t").text("core.exec.request").key("p").bytes(new byte[] {(byte) 0xa0}));
            sendAsync(attacker, typeLast, typeLast, typeLast).get(10, TimeUnit.SECONDS);
            for (int i = 0; i < 3; i++) {
                ErrorPayload unnamed = refusalOn(attacker, theirs);
                assertNull(unnamed.offendingType(), "the relay read the frame past its envelope's first bytes");
                assertTrue(unnamed.message().contains("outside this client's range"), unnamed.message());
            }
            assertRoundTrip(other, theirs);
        }
    }

    /**
     * A client that floods 9-byte frames on another client's ids and reads none of the refusals
     * (190 bytes each): once its unread refusals pass the mark it is dropped, so what the relay holds
     * for it stays near the mark. Before, each 256 KiB read still became 5 MiB of refusals, and a
     * client that read them slowly kept the relay making them for ever; the other client is served.
     */
    @Test
    void aClientFloodingOtherIdsFasterThanItReadsTheRefusalsIsDropped() throws Exception {
        floodFasterThanTheRefusalsAreRead(IdRange.slot(100).start() + 1);
    }

    /**
     * The same on id 0, where the relay takes only core.shutdown and its flow notices: before, the
     * flood check came after id 0's refusals, so such a client was never dropped and each read of
     * 9-byte pings made some 6 MiB of refusals.
     */
    @Test
    void aClientFloodingIdZeroFasterThanItReadsTheRefusalsIsDropped() throws Exception {
        floodFasterThanTheRefusalsAreRead(Protocol.CONTROL_ID);
    }

    private void floodFasterThanTheRefusalsAreRead(long foreign) throws Exception {
        try (RawClient attacker = port.readyClient(); RawClient other = port.readyClient()) {
            byte[] ping = encoder.encode(new Frame(foreign, MessageType.CORE_PING, Empty.INSTANCE));
            int frames = (8 << 20) / ping.length; // 8 MiB of them: 170 MiB of refusals if all were answered
            ByteBuffer flood = ByteBuffer.allocate(frames * ping.length);
            for (int i = 0; i < frames; i++) {
                flood.put(ping);
            }
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
                try {
                    attacker.sendRaw(flood.array());
                } catch (IOException dropped) {
                    // the relay closed it mid-flood
                }
            });
            Thread.sleep(1000); // the relay reads and refuses while the attacker reads nothing
            int refusals = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            try {
                while (System.nanoTime() < deadline) {
                    attacker.receive();
                    refusals++;
                }
            } catch (IOException closed) {
                // dropped: what was queued, then the end
            }
            assertTrue(System.nanoTime() < deadline, "never dropped: " + refusals + " refusals read in 30 s");
            assertTrue(refusals < frames / 4, refusals + " refusals of " + frames + " frames");
            sent.get(10, TimeUnit.SECONDS);
            long id = IdRange.slot(1).start() + 1;
            other.send(new Frame(id, MessageType.CORE_PING, Empty.INSTANCE));
            Frame got = agent.receive();
            assertEquals(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED, got.payload()), got,
                    "the agent is told the attacker left");
            while ((got = agent.receive()).id() != id) {
                assertEquals(MessageType.CORE_PING, got.type(), "the relay's departure probe: " + got);
            }
            assertEquals(new Frame(id, MessageType.CORE_PING, Empty.INSTANCE), got, "the other is served");
        }
    }

    private static CompletableFuture<Void> sendAsync(RawClient c, byte[]... frames) {
        return CompletableFuture.runAsync(() -> {
            try {
                for (byte[] frame : frames) {
                    c.sendRaw(frame);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static ErrorPayload refusalOn(RawClient c, long id) throws Exception {
        Frame refusal = c.receive();
        assertEquals(id, refusal.id());
        assertEquals(MessageType.CORE_ERROR, refusal.type());
        ErrorPayload error = (ErrorPayload) refusal.payload();
        assertEquals("invalid_session", error.kind());
        return error;
    }

    /** {@code c}'s ping reaches the agent and the pong comes back: the relay serves it. */
    private void assertRoundTrip(RawClient c, long id) throws Exception {
        Frame ping = new Frame(id, MessageType.CORE_PING, Empty.INSTANCE);
        c.send(ping);
        assertEquals(ping, agent.receive());
        Frame pong = new Frame(id, MessageType.CORE_PONG, Empty.INSTANCE);
        agent.send(pong);
        assertEquals(pong, c.receive());
    }

    /**
     * A whole frame: {@code body}, an indefinite-length envelope map, is padded with distinct unknown
     * keys (each skipped by the decoder, all of them costly to it) to {@code length} bytes in all.
     */
    private static byte[] envelope(long id, int flags, int length, Envelope body) {
        for (int i = 0; body.size() < length - Protocol.LENGTH_BYTES - 5 - 16; i++) {
            body.key("k" + Integer.toString(i, 36)).u8(0);
        }
        byte[] map = body.end();
        return ByteBuffer.allocate(Protocol.LENGTH_BYTES + 5 + map.length).putInt(5 + map.length)
                .putInt((int) id).put((byte) flags).put(map).array();
    }

    /** The CBOR of an envelope map of indefinite length, written entry by entry. */
    private static final class Envelope {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Envelope() {
            out.write(0xbf);
        }

        /** {v: generation, t: type, ...}: the start of an envelope in the reference order. */
        static Envelope start(String type) {
            return new Envelope().key("v").u8(Protocol.GENERATION).key("t").text(type);
        }

        Envelope key(String key) {
            return text(key);
        }

        Envelope text(String text) {
            byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
            head(3, utf8.length);
            out.writeBytes(utf8);
            return this;
        }

        Envelope bytes(byte[] bytes) {
            head(2, bytes.length);
            out.writeBytes(bytes);
            return this;
        }

        Envelope u8(int value) {
            head(0, value);
            return this;
        }

        int size() {
            return out.size();
        }

        byte[] end() {
            out.write(0xff);
            return out.toByteArray();
        }

        private void head(int major, int value) {
            if (value < 24) {
                out.write(major << 5 | value);
            } else if (value < 256) {
                out.write(major << 5 | 24);
                out.write(value);
            } else {
                out.write(major << 5 | 26);
                out.writeBytes(ByteBuffer.allocate(4).putInt(value).array());
            }
        }
    }
}
