package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.RelayClientRange;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** ExecSession's stdout() and stderr() against a scripted peer: order, end, bound, close, loss. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SessionStreamsTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    private ScriptedPeer peer;

    @BeforeEach
    void listen() throws IOException {
        peer = new ScriptedPeer(dir);
    }

    @AfterEach
    void close() throws IOException {
        peer.close();
    }

    /** A session with streams on a new client, its request read and answered with exec.started. */
    private ExecSession startedOnANewClient() throws Exception {
        ExecSession s = peer.connect().startWithStreams(ExecRequest.of("x"));
        peer.receive();
        peer.send(new Frame(s.id(), MessageType.EXEC_STARTED, new ExecStarted(3)));
        return s;
    }

    /** A session with streams of {@code capacity} bytes, its request read by the peer. */
    private ExecSession startedWithStreams(AgentClient client, int capacity) throws Exception {
        ExecSession s = client.startWithStreams(ExecRequest.of("x"), capacity);
        peer.receive();
        return s;
    }

    /** A ping the client sent and the peer read: its reply to come, and the id to answer on. */
    private record Ping(CompletableFuture<Frame> pong, long id) { }

    private Ping pingRead(AgentClient client) throws Exception {
        CompletableFuture<Frame> pong = client.call(MessageType.CORE_PING, Empty.INSTANCE);
        return new Ping(pong, peer.receive().id());
    }

    private void out(ExecSession s, MessageType stream, String text) throws IOException {
        peer.send(new Frame(s.id(), stream, new ExecData(text.getBytes(StandardCharsets.UTF_8))));
    }

    private static String readAll(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void eachStreamGetsItsOutputThenEndsAtTheExit() throws Exception {
        try (AgentClient client = peer.connect()) {
            ExecSession s = client.startWithStreams(ExecRequest.of("x"));
            peer.receive();
            peer.send(new Frame(s.id(), MessageType.EXEC_STARTED, new ExecStarted(3)));
            out(s, MessageType.EXEC_STDOUT, "one ");
            out(s, MessageType.EXEC_STDERR, "warning");
            out(s, MessageType.EXEC_STDOUT, "two");
            peer.send(new Frame(s.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
            assertEquals("one two", readAll(s.stdout()));
            assertEquals("warning", readAll(s.stderr()));
            assertEquals(-1, s.stdout().read(), "EOF stays");
            assertEquals(0, s.awaitExit(WAIT).code());
        }
    }

    @Test
    void aReaderWaitsForOutputAndSeesTheEndWhenItComes() throws Exception {
        try (AgentClient client = peer.connect()) {
            ExecSession s = client.startWithStreams(ExecRequest.of("x"));
            peer.receive();
            CompletableFuture<String> reading = CompletableFuture.supplyAsync(() -> {
                try {
                    return readAll(s.stdout());
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(100);
            assertFalse(reading.isDone());
            peer.send(new Frame(s.id(), MessageType.EXEC_STARTED, new ExecStarted(3)));
            out(s, MessageType.EXEC_STDOUT, "late");
            Thread.sleep(100);
            assertFalse(reading.isDone(), "no EOF before the session's end");
            peer.send(new Frame(s.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
            assertEquals("late", reading.get(20, TimeUnit.SECONDS));
        }
    }

    @Test
    void aFullStreamHoldsUpTheConnectionUntilItIsRead() throws Exception {
        try (AgentClient client = peer.connect()) {
            ExecSession s = startedWithStreams(client, 16);
            Ping ping = pingRead(client);
            peer.send(new Frame(s.id(), MessageType.EXEC_STARTED, new ExecStarted(3)));
            out(s, MessageType.EXEC_STDOUT, "0123456789");
            out(s, MessageType.EXEC_STDOUT, "abcdefghij"); // 20 > 16: the reader waits here
            peer.send(new Frame(ping.id(), MessageType.CORE_PONG, Empty.INSTANCE));
            Thread.sleep(300);
            assertFalse(ping.pong().isDone(), "nothing behind the full stream is read");
            byte[] first = new byte[10];
            assertEquals(10, s.stdout().readNBytes(first, 0, 10));
            ping.pong().get(20, TimeUnit.SECONDS);
            assertEquals("abcdefghij", new String(s.stdout().readNBytes(10), StandardCharsets.UTF_8));
        }
    }

    // ---- an agent that holds output on request (relay_flow): see OutputHold -------------------------

    private static Frame notice(MessageType type, ExecSession s) {
        return new Frame(0, type, new RelayClientRange(s.id(), s.id() + 1));
    }

    @Test
    void aFullStreamAsksTheAgentToHoldItsSessionAndTheReaderGoesOn() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_RELAY_FLOW)) {
            ExecSession s = startedWithStreams(client, 16);
            Ping ping = pingRead(client);
            peer.send(new Frame(s.id(), MessageType.EXEC_STARTED, new ExecStarted(3)));
            out(s, MessageType.EXEC_STDOUT, "0123456789");
            assertFalse(s.streams().held(), "10 of 16: nothing asked yet");
            out(s, MessageType.EXEC_STDOUT, "abcdefghij");
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_PAUSED, s), peer.receive(),
                    "at 16 unread the agent is asked to hold this one id");
            out(s, MessageType.EXEC_STDOUT, "in flight"); // sent before the notice reached the agent
            peer.send(new Frame(ping.id(), MessageType.CORE_PONG, Empty.INSTANCE));
            ping.pong().get(20, TimeUnit.SECONDS); // the reader went on past the full stream
            assertEquals("0123456789abcdefghij", new String(s.stdout().readNBytes(20), StandardCharsets.UTF_8));
            assertTrue(s.streams().held(), "9 unread: still above a quarter of 16");
            assertEquals("in fligh", new String(s.stdout().readNBytes(8), StandardCharsets.UTF_8));
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_RESUMED, s), peer.receive(),
                    "at 1 unread (a quarter of 16 is 4) the output may flow again");
            peer.send(new Frame(s.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
            assertEquals("t", readAll(s.stdout()));
        }
    }

    @Test
    void aSessionThatEndsWhileHeldIsReleasedBeforeItsIdIsFree() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_RELAY_FLOW)) {
            ExecSession s = startedWithStreams(client, 4);
            out(s, MessageType.EXEC_STDOUT, "four");
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_PAUSED, s), peer.receive());
            peer.send(new Frame(s.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_RESUMED, s), peer.receive(),
                    "an agent must not keep holding an id this client may start a new session on");
            assertEquals(0, s.awaitExit(WAIT).code());
            assertEquals("four", readAll(s.stdout()), "the output is still there to read");
        }
    }

    @Test
    void closingAHeldStreamReleasesTheSession() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_RELAY_FLOW)) {
            ExecSession s = startedWithStreams(client, 4);
            out(s, MessageType.EXEC_STDERR, "many");
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_PAUSED, s), peer.receive());
            s.stderr().close();
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_RESUMED, s), peer.receive());
        }
    }

    @Test
    void anAgentThatIgnoresTheHoldMakesTheReaderWaitAndNothingIsLost() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_RELAY_FLOW)) {
            ExecSession s = startedWithStreams(client, 16);
            Ping ping = pingRead(client);
            byte[] chunk = new byte[64 * 1024];
            long sent = 0;
            for (int i = 0; sent <= OutputStreams.IN_FLIGHT_BYTES + 16; i++) {
                Arrays.fill(chunk, (byte) i);
                peer.send(new Frame(s.id(), MessageType.EXEC_STDOUT, new ExecData(chunk.clone())));
                sent += chunk.length;
            }
            assertEquals(MessageType.CORE_RELAY_CLIENT_PAUSED, peer.receive().type());
            peer.send(new Frame(ping.id(), MessageType.CORE_PONG, Empty.INSTANCE));
            Thread.sleep(300);
            assertFalse(ping.pong().isDone(), "past 8 MiB more than the capacity the reader waits, as without the feature");
            byte[] got = s.stdout().readNBytes((int) sent);
            for (int at = 0; at < got.length; at++) {
                assertEquals((byte) (at / chunk.length), got[at], "byte " + at);
            }
            ping.pong().get(20, TimeUnit.SECONDS);
        }
    }

    @Test
    void aRelayThatDoesNotPassTheNoticeOnIsAskedNoMore() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_RELAY_FLOW)) {
            ExecSession first = client.startWithStreams(ExecRequest.of("x"), 4);
            peer.receive();
            out(first, MessageType.EXEC_STDOUT, "full");
            assertEquals(MessageType.CORE_RELAY_CLIENT_PAUSED, peer.receive().type());
            String paused = MessageType.CORE_RELAY_CLIENT_PAUSED.wire();
            peer.send(new Frame(0, MessageType.CORE_ERROR, new ErrorPayload("invalid_session",
                    "the relay takes only core.shutdown on id 0, not " + paused + "; nothing was forwarded", paused)));
            ExecSession second = client.startWithStreams(ExecRequest.of("y"), 4);
            assertEquals(MessageType.EXEC_REQUEST, peer.receive().type(), "no notice came between");
            Ping ping = pingRead(client);
            out(second, MessageType.EXEC_STDOUT, "full");
            out(second, MessageType.EXEC_STDOUT, "more"); // the reader waits here, as with an old agent
            peer.send(new Frame(ping.id(), MessageType.CORE_PONG, Empty.INSTANCE));
            Thread.sleep(300);
            assertFalse(ping.pong().isDone());
            assertEquals("full", new String(second.stdout().readNBytes(4), StandardCharsets.UTF_8));
            ping.pong().get(20, TimeUnit.SECONDS);
            client.call(MessageType.CORE_PING, Empty.INSTANCE);
            assertEquals(MessageType.CORE_PING, peer.receive().type(), "no hold notice for the second session");
        }
    }

    @Test
    void aListenerSessionIsPausedAndResumedOnRequest() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_RELAY_FLOW)) {
            ExecSession s = client.start(ExecRequest.of("x"), output -> { });
            peer.receive();
            assertTrue(s.pauseOutput());
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_PAUSED, s), peer.receive());
            assertTrue(s.pauseOutput(), "asked again: already held, nothing more to send");
            s.resumeOutput();
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_RESUMED, s), peer.receive());
            s.resumeOutput();
            ExecSession queued = client.start(ExecRequest.of("y")); // nextOutput's queue may be bounded this way too
            assertEquals(MessageType.EXEC_REQUEST, peer.receive().type(), "nothing between");
            assertTrue(queued.pauseOutput());
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_PAUSED, queued), peer.receive());
            peer.send(new Frame(queued.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_RESUMED, queued), peer.receive(),
                    "the end releases what the caller paused");
            assertFalse(queued.pauseOutput(), "an ended session has nothing to pause");
        }
    }

    @Test
    void pausingNeedsAnAgentThatHoldsAndASessionWithoutStreams() throws Exception {
        try (AgentClient client = peer.connect()) {
            ExecSession s = client.start(ExecRequest.of("x"), output -> { });
            peer.receive();
            assertFalse(s.pauseOutput(), "an agent without relay_flow is not asked");
            client.call(MessageType.CORE_PING, Empty.INSTANCE);
            assertEquals(MessageType.CORE_PING, peer.receive().type(), "nothing was sent before the ping");
            ExecSession withStreams = client.startWithStreams(ExecRequest.of("y"));
            assertThrows(IllegalStateException.class, withStreams::pauseOutput);
        }
    }

    @Test
    void aChunkLargerThanTheBoundIsTakenWhole() throws Exception {
        try (AgentClient client = peer.connect()) {
            ExecSession s = startedWithStreams(client, 4);
            out(s, MessageType.EXEC_STDOUT, "larger than four");
            peer.send(new Frame(s.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
            assertEquals("larger than four", readAll(s.stdout()));
        }
    }

    @Test
    void aClosedStreamDiscardsItsOutputAndHoldsNothingUp() throws Exception {
        try (AgentClient client = peer.connect()) {
            ExecSession s = startedWithStreams(client, 16);
            s.stderr().close();
            for (int i = 0; i < 100; i++) {
                out(s, MessageType.EXEC_STDERR, "noise that nobody reads");
            }
            out(s, MessageType.EXEC_STDOUT, "wanted");
            peer.send(new Frame(s.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
            assertEquals(0, s.awaitExit(WAIT).code());
            assertEquals("wanted", readAll(s.stdout()));
            assertThrows(IOException.class, () -> s.stderr().read());
        }
    }

    @Test
    void aLostConnectionIsAnErrorOnTheStreamsNotAnEnd() throws Exception {
        ExecSession s = startedOnANewClient();
        out(s, MessageType.EXEC_STDOUT, "before");
        peer.hangUp();
        byte[] got = new byte[6];
        assertEquals(6, s.stdout().readNBytes(got, 0, 6), "what came before the loss is kept");
        assertEquals("before", new String(got, StandardCharsets.UTF_8));
        assertThrows(ConnectionLostException.class, () -> s.stdout().read());
        assertThrows(ConnectionLostException.class, () -> s.stderr().read());
    }

    @Test
    void anAgentThatLeavesInsideAFrameIsLostWithWhatWasCutShort() throws Exception {
        ExecSession s = startedOnANewClient();
        byte[] frame = new FrameEncoder().encode(new Frame(s.id(), MessageType.EXEC_STDOUT,
                new ExecData("cut".repeat(20).getBytes(StandardCharsets.UTF_8))));
        peer.sendRaw(Arrays.copyOf(frame, 30));
        peer.hangUp();
        ConnectionLostException lost = assertThrows(ConnectionLostException.class, () -> s.stdout().read());
        assertTrue(lost.getMessage().contains("closed the connection; a frame cut short (26 of its "
                + (frame.length - 4) + " bytes after the length came) was dropped"), lost.getMessage());
    }

    @Test
    void closingTheClientReleasesAReaderThreadWaitingOnAFullStream() throws Exception {
        AgentClient client = peer.connect();
        ExecSession s = startedWithStreams(client, 8);
        out(s, MessageType.EXEC_STDOUT, "12345678");
        out(s, MessageType.EXEC_STDOUT, "9"); // the reader waits
        Thread.sleep(100);
        client.close();
        assertThrows(ConnectionLostException.class, () -> s.awaitExit(WAIT));
        assertFalse(client.isOpen());
    }

    @Test
    void aPtySessionHasEverythingOnStdout() throws Exception {
        try (AgentClient client = peer.connect()) {
            ExecRequest pty = new ExecRequest("sh", List.of(), List.of(), null, null, true, 24, 80, List.of(), null);
            ExecSession s = client.startWithStreams(pty);
            peer.receive();
            assertEquals(-1, s.stderr().read(), "a PTY has no separate stderr");
            out(s, MessageType.EXEC_STDOUT, "$ ");
            peer.send(new Frame(s.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
            assertEquals("$ ", readAll(s.stdout()));
        }
    }

    @Test
    void sessionsWithoutStreamsSaySo() throws Exception {
        try (AgentClient client = peer.connect()) {
            ExecSession chunks = client.start(ExecRequest.of("x"));
            IllegalStateException e = assertThrows(IllegalStateException.class, chunks::stdout);
            assertTrue(e.getMessage().contains("startWithStreams"), e.getMessage());
            ExecSession listened = client.start(ExecRequest.of("y"), output -> { });
            assertThrows(IllegalStateException.class, listened::stderr);
        }
    }
}
