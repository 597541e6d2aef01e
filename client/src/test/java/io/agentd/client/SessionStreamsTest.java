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
import io.agentd.protocol.payload.ExecStarted;
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
            ExecSession s = client.startWithStreams(ExecRequest.of("x"), 16);
            peer.receive();
            CompletableFuture<Frame> pong = client.call(MessageType.CORE_PING, Empty.INSTANCE);
            long pingId = peer.receive().id();
            peer.send(new Frame(s.id(), MessageType.EXEC_STARTED, new ExecStarted(3)));
            out(s, MessageType.EXEC_STDOUT, "0123456789");
            out(s, MessageType.EXEC_STDOUT, "abcdefghij"); // 20 > 16: the reader waits here
            peer.send(new Frame(pingId, MessageType.CORE_PONG, Empty.INSTANCE));
            Thread.sleep(300);
            assertFalse(pong.isDone(), "nothing behind the full stream is read");
            byte[] first = new byte[10];
            assertEquals(10, s.stdout().readNBytes(first, 0, 10));
            pong.get(20, TimeUnit.SECONDS);
            assertEquals("abcdefghij", new String(s.stdout().readNBytes(10), StandardCharsets.UTF_8));
        }
    }

    @Test
    void aChunkLargerThanTheBoundIsTakenWhole() throws Exception {
        try (AgentClient client = peer.connect()) {
            ExecSession s = client.startWithStreams(ExecRequest.of("x"), 4);
            peer.receive();
            out(s, MessageType.EXEC_STDOUT, "larger than four");
            peer.send(new Frame(s.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
            assertEquals("larger than four", readAll(s.stdout()));
        }
    }

    @Test
    void aClosedStreamDiscardsItsOutputAndHoldsNothingUp() throws Exception {
        try (AgentClient client = peer.connect()) {
            ExecSession s = client.startWithStreams(ExecRequest.of("x"), 16);
            peer.receive();
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
        ExecSession s = client.startWithStreams(ExecRequest.of("x"), 8);
        peer.receive();
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
