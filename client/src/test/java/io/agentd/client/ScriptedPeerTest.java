package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.Ready;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client against a peer this test scripts frame by frame over a real unix socket, for what a
 * correct agent never does: no ready, garbage, undecodable frames, frames for ids nobody opened.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ScriptedPeerTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    private Path socket;
    private ServerSocketChannel server;
    private SocketChannel peer;
    private final FrameEncoder encoder = new FrameEncoder();
    private final FrameDecoder decoder = new FrameDecoder();

    @BeforeEach
    void listen() throws IOException {
        socket = dir.resolve("peer.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
    }

    @AfterEach
    void closePeer() throws IOException {
        if (peer != null) {
            peer.close();
        }
        server.close();
    }

    /** Connects a client, accepts it and sends core.ready. */
    private AgentClient connected() throws Exception {
        CompletableFuture<AgentClient> client = CompletableFuture.supplyAsync(() -> {
            try {
                return AgentClient.connect(socket, WAIT);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        peer = server.accept();
        send(new Frame(0, MessageType.CORE_READY, new Ready(1, 2, 3, "scripted")));
        return client.get(20, TimeUnit.SECONDS);
    }

    private void send(Frame frame) throws IOException {
        sendBytes(encoder.encode(frame));
    }

    private void sendBytes(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            peer.write(b);
        }
    }

    private Frame receive() throws Exception {
        ByteBuffer buffer = ByteBuffer.allocate(65536);
        while (true) {
            Frame f = decoder.next();
            if (f != null) {
                return f;
            }
            buffer.clear();
            if (peer.read(buffer) < 0) {
                throw new IOException("client closed");
            }
            buffer.flip();
            decoder.feed(buffer);
        }
    }

    @Test
    void connectWaitsForReadyAndTimesOutWithoutIt() throws Exception {
        CompletableFuture<Throwable> failure = CompletableFuture.supplyAsync(() -> {
            try {
                AgentClient.connect(socket, Duration.ofMillis(500)).close();
                return null;
            } catch (Exception e) {
                return e;
            }
        });
        peer = server.accept(); // and say nothing
        assertInstanceOf(TimeoutException.class, failure.get(20, TimeUnit.SECONDS));
    }

    @Test
    void aPeerThatMissedSayingReadyIsFoundByPing() throws Exception {
        CompletableFuture<AgentClient> client = CompletableFuture.supplyAsync(() -> {
            try {
                return AgentClient.connect(socket, WAIT);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        peer = server.accept(); // no ready: as a guest agent that came up before the host connected
        Frame ping = receive();
        assertEquals(MessageType.CORE_PING, ping.type());
        assertNotEquals(0, ping.id());
        send(new Frame(ping.id(), MessageType.CORE_PONG, io.agentd.protocol.payload.Empty.INSTANCE));
        try (AgentClient c = client.get(20, TimeUnit.SECONDS)) {
            assertEquals(null, c.ready(), "found by ping, not by ready");
            assertTrue(c.isOpen());
        }
    }

    @Test
    void aPeerThatHangsUpBeforeReadyIsAConnectionLoss() throws Exception {
        CompletableFuture<Throwable> failure = CompletableFuture.supplyAsync(() -> {
            try {
                AgentClient.connect(socket, WAIT).close();
                return null;
            } catch (Exception e) {
                return e;
            }
        });
        server.accept().close();
        assertInstanceOf(ConnectionLostException.class, failure.get(20, TimeUnit.SECONDS));
    }

    @Test
    void aNewAgentProcessOnTheSameConnectionFailsWhatTheOldOneHadOpen() throws Exception {
        try (AgentClient client = connected()) {
            ExecSession running = client.start(ExecRequest.of("sleep", "60"));
            assertEquals(running.id(), receive().id());
            send(new Frame(running.id(), MessageType.EXEC_STARTED, new ExecStarted(100)));
            assertEquals(100, running.awaitStarted(WAIT));

            // The same agent saying ready again (same start time) ends nothing.
            send(new Frame(0, MessageType.CORE_READY, new Ready(1, 2, 4, "scripted")));
            assertThrows(TimeoutException.class, () -> running.awaitExit(Duration.ofMillis(300)));

            // A new agent process (another start time): the session can never end on its own.
            send(new Frame(0, MessageType.CORE_READY, new Ready(7, 8, 9, "scripted")));
            AgentException e = assertThrows(AgentException.class, () -> running.awaitExit(WAIT));
            assertInstanceOf(AgentRestartedException.class, e);
            assertTrue(e.getMessage().contains("restarted"), e.getMessage());

            // The connection goes on with the new agent.
            ExecSession next = client.start(ExecRequest.of("true"));
            assertEquals(next.id(), receive().id());
            send(new Frame(next.id(), MessageType.EXEC_STARTED, new ExecStarted(101)));
            send(new Frame(next.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
            assertEquals(new ExitStatus(0, null, false), next.awaitExit(WAIT));
            assertTrue(client.isOpen());
        }
    }

    /**
     * A connection a ping found ready (the agent's first ready lost) still hears a restart: the
     * first core.ready that comes later is the one to compare with, and one with another start
     * time fails what the old agent had open. Before, every later ready was taken for the same
     * agent's (the connection's ready was null), and the session waited for ever.
     */
    @Test
    void aConnectionFoundReadyByAPingStillHearsARestart() throws Exception {
        CompletableFuture<AgentClient> connecting = CompletableFuture.supplyAsync(() -> {
            try {
                return AgentClient.connect(socket, WAIT);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        peer = server.accept();
        Frame ping = receive();
        send(new Frame(ping.id(), MessageType.CORE_PONG, io.agentd.protocol.payload.Empty.INSTANCE));
        try (AgentClient client = connecting.get(20, TimeUnit.SECONDS)) {
            ExecSession running = client.start(ExecRequest.of("sleep", "60"));
            assertEquals(running.id(), receive().id());
            send(new Frame(running.id(), MessageType.EXEC_STARTED, new ExecStarted(100)));
            assertEquals(100, running.awaitStarted(WAIT));

            send(new Frame(0, MessageType.CORE_READY, new Ready(1, 2, 3, "scripted"))); // this agent's, late
            assertThrows(TimeoutException.class, () -> running.awaitExit(Duration.ofMillis(300)));
            send(new Frame(0, MessageType.CORE_READY, new Ready(7, 8, 9, "scripted"))); // a new agent
            assertInstanceOf(AgentRestartedException.class, assertThrows(AgentException.class,
                    () -> running.awaitExit(WAIT)));
        }
    }

    /**
     * An agent that answers a ping, a touch or a list with another terminal frame gets an
     * AgentException naming both, not a ClassCastException out of the typed call.
     */
    @Test
    void aTypedCallAnsweredWithAnotherFrameIsAnAgentException() throws Exception {
        try (AgentClient client = connected()) {
            CompletableFuture<Throwable> touch = CompletableFuture.supplyAsync(() -> {
                try {
                    client.touch(WAIT);
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            });
            Frame request = receive();
            send(new Frame(request.id(), MessageType.CORE_PONG, io.agentd.protocol.payload.Empty.INSTANCE));
            Throwable failure = touch.get(20, TimeUnit.SECONDS);
            assertInstanceOf(AgentException.class, failure);
            assertTrue(failure.getMessage().contains("answered with core.pong") && failure.getMessage().contains(
                    "where core.touched was due"), failure.getMessage());
        }
    }

    /**
     * run() keeps a command's output in memory: past its limit a stream's output is not kept, the
     * session is killed, and run throws saying so rather than hand back output cut short. Before,
     * it collected without a bound (a command printing for ever filled the heap on the reader thread).
     */
    @Test
    void runKillsACommandWhoseOutputPassesItsLimitAndSaysSo() throws Exception {
        try (AgentClient client = connected()) {
            CompletableFuture<Throwable> running = CompletableFuture.supplyAsync(() -> {
                try {
                    client.run(ExecRequest.of("yes"), new byte[0], WAIT, 100_000);
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            });
            Frame request = receive();
            send(new Frame(request.id(), MessageType.EXEC_STARTED, new ExecStarted(5)));
            send(bulk(request.id(), 'y')); // 64 KiB
            send(bulk(request.id(), 'y')); // 128 KiB: past the limit
            Frame kill = receive();
            while (kill.type() == MessageType.EXEC_STDIN) { // the end of its (empty) input
                kill = receive();
            }
            assertEquals(MessageType.EXEC_SIGNAL, kill.type(), kill.toString());
            assertEquals(9, ((io.agentd.protocol.payload.ExecSignal) kill.payload()).signal());
            send(new Frame(request.id(), MessageType.EXEC_EXITED, new ExecExited(137, 9, false)));
            Throwable failure = running.get(20, TimeUnit.SECONDS);
            assertInstanceOf(AgentException.class, failure);
            assertTrue(failure.getMessage().contains("wrote more than 100000 bytes to stdout"), failure.getMessage());
        }
    }

    /** One 64 KiB stdout frame whose every byte is {@code fill}. */
    private static Frame bulk(long id, int fill) {
        byte[] data = new byte[64 * 1024];
        java.util.Arrays.fill(data, (byte) fill);
        return new Frame(id, MessageType.EXEC_STDOUT, new ExecData(data));
    }

    /** A queue whose poll takes from {@code from} and records every array it hands out in {@code polled}. */
    private static java.util.concurrent.BlockingQueue<byte[]> recordingPolls(
            java.util.concurrent.BlockingQueue<byte[]> from, java.util.List<byte[]> polled) {
        return new java.util.concurrent.LinkedBlockingQueue<>() {
            @Override
            public byte[] poll(long timeout, TimeUnit unit) throws InterruptedException {
                byte[] a = from.poll(timeout, unit);
                if (a != null) {
                    polled.add(a);
                }
                return a;
            }
        };
    }

    /** Sends frames of 1s, 2s and 3s, each once the listener has had the one before (so each is read alone). */
    private void sendThreeBulkFramesOneAtATime(ExecSession s, java.util.concurrent.BlockingQueue<byte[]> seen)
            throws Exception {
        receive(); // the request
        send(new Frame(s.id(), MessageType.EXEC_STARTED, new ExecStarted(1)));
        for (int fill = 1; fill <= 3; fill++) {
            send(bulk(s.id(), fill));
            assertTrue(seen.poll(10, TimeUnit.SECONDS) != null, "frame " + fill + " delivered");
        }
        send(new Frame(s.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
        assertEquals(0, s.awaitExit(WAIT).code());
    }

    @Test
    void aListenerThatKeepsNoDataGetsEveryFrameRightThroughOneReusedArray() throws Exception {
        try (AgentClient client = connected()) {
            java.util.concurrent.BlockingQueue<byte[]> arrays = new java.util.concurrent.LinkedBlockingQueue<>();
            java.util.List<byte[]> copies = new java.util.ArrayList<>();
            ExecSession s = client.start(ExecRequest.of("bulk"), new OutputListener() {
                @Override
                public void onOutput(Output output) {
                    copies.add(output.data().clone());
                    arrays.add(output.data()); // kept for its identity only, never read after the call
                }

                @Override
                public boolean keepsData() {
                    return false;
                }
            });
            java.util.List<byte[]> delivered = new java.util.ArrayList<>();
            java.util.concurrent.BlockingQueue<byte[]> seen = recordingPolls(arrays, delivered);
            sendThreeBulkFramesOneAtATime(s, seen);
            for (int i = 0; i < 3; i++) {
                byte[] expected = new byte[64 * 1024];
                java.util.Arrays.fill(expected, (byte) (i + 1));
                assertTrue(java.util.Arrays.equals(expected, copies.get(i)), "frame " + (i + 1) + "'s bytes");
            }
            assertTrue(delivered.get(1) == delivered.get(2), "the third frame was read into the second's array");
        }
    }

    @Test
    void aListenerThatKeepsDataKeepsEveryFrameItsOwnArray() throws Exception {
        try (AgentClient client = connected()) {
            java.util.concurrent.BlockingQueue<byte[]> kept = new java.util.concurrent.LinkedBlockingQueue<>();
            ExecSession s = client.start(ExecRequest.of("bulk"), output -> kept.add(output.data()));
            java.util.List<byte[]> arrays = new java.util.ArrayList<>();
            java.util.concurrent.BlockingQueue<byte[]> seen = recordingPolls(kept, arrays);
            sendThreeBulkFramesOneAtATime(s, seen);
            for (int i = 0; i < 3; i++) {
                for (byte b : arrays.get(i)) {
                    assertEquals(i + 1, b, "frame " + (i + 1) + " still holds its own bytes after the later ones came");
                }
            }
        }
    }

    @Test
    void framesGoOutOnTheSessionsIdAndComeBackToIt() throws Exception {
        try (AgentClient client = connected()) {
            ExecSession a = client.start(ExecRequest.of("a"));
            ExecSession b = client.start(ExecRequest.of("b"));
            Frame ra = receive();
            Frame rb = receive();
            assertEquals(MessageType.EXEC_REQUEST, ra.type());
            assertEquals(a.id(), ra.id());
            assertEquals(b.id(), rb.id());
            assertNotEquals(0, a.id());
            assertNotEquals(a.id(), b.id());

            // answers interleaved, b first; a frame for an id nobody opened is dropped
            send(new Frame(b.id(), MessageType.EXEC_STARTED, new ExecStarted(200)));
            send(new Frame(a.id(), MessageType.EXEC_STARTED, new ExecStarted(100)));
            send(new Frame(9999, MessageType.EXEC_STDOUT, new ExecData("stray".getBytes(StandardCharsets.UTF_8))));
            send(new Frame(b.id(), MessageType.EXEC_STDERR, new ExecData("to-b".getBytes(StandardCharsets.UTF_8))));
            send(new Frame(a.id(), MessageType.EXEC_STDOUT, new ExecData("to-a".getBytes(StandardCharsets.UTF_8))));
            send(new Frame(b.id(), MessageType.EXEC_EXITED, new ExecExited(137, 9, true)));
            send(new Frame(a.id(), MessageType.EXEC_EXITED, ExecExited.normal(4)));

            assertEquals(100, a.awaitStarted(WAIT));
            assertEquals(200, b.awaitStarted(WAIT));
            assertEquals("to-a", a.nextOutput(WAIT).text());
            Output toB = b.nextOutput(WAIT);
            assertEquals(Output.Stream.STDERR, toB.stream());
            assertEquals("to-b", toB.text());
            assertEquals(new ExitStatus(4, null, false), a.awaitExit(WAIT));
            assertTrue(a.errors().isEmpty());
            a.closeStdin(); // ended: nothing to close, no error (a fast command ends before its input is closed)
            assertThrows(AgentException.class, () -> a.writeStdin(new byte[] {1}), "input for an ended session");
            assertEquals(new ExitStatus(137, 9, true), b.awaitExit(WAIT));

            // stdin, resize and signal travel on the session's id; empty stdin is the end of input
            ExecSession c = client.start(ExecRequest.of("c"));
            receive();
            c.writeStdin("in".getBytes(StandardCharsets.UTF_8));
            c.closeStdin();
            c.signal(2);
            Frame stdin = receive();
            assertEquals(MessageType.EXEC_STDIN, stdin.type());
            assertEquals(c.id(), stdin.id());
            assertEquals("in", new String(((ExecData) stdin.payload()).data(), StandardCharsets.UTF_8));
            assertTrue(((ExecData) receive().payload()).isEmpty());
            Frame signal = receive();
            assertEquals(MessageType.EXEC_SIGNAL, signal.type());
            assertEquals(c.id(), signal.id());
        }
    }

    @Test
    void coreErrorAboutTheRequestRefusesTheSessionAndAboutOtherFramesDoesNot() throws Exception {
        try (AgentClient client = connected()) {
            ExecSession refused = client.start(ExecRequest.of("x"));
            ExecSession running = client.start(ExecRequest.of("y"));
            receive();
            receive();
            send(new Frame(refused.id(), MessageType.CORE_ERROR,
                    new ErrorPayload("invalid_payload", "bad rlimit", "core.exec.request")));
            AgentErrorException e = assertThrows(AgentErrorException.class, () -> refused.awaitExit(WAIT));
            assertEquals(ErrorKind.INVALID_PAYLOAD, e.kind());

            // the agent reads on while the program starts: an answer to a later frame may come first
            send(new Frame(running.id(), MessageType.CORE_ERROR,
                    new ErrorPayload("invalid_payload", "no PTY to resize", "core.exec.resize")));
            send(new Frame(running.id(), MessageType.EXEC_STARTED, new ExecStarted(5)));
            send(new Frame(running.id(), MessageType.CORE_ERROR,
                    new ErrorPayload("invalid_payload", "bad signal", "core.exec.signal")));
            send(new Frame(running.id(), MessageType.EXEC_STDOUT, new ExecData("still".getBytes(StandardCharsets.UTF_8))));
            assertEquals("still", running.nextOutput(WAIT).text());
            assertFalse(running.isDone());
            assertEquals(2, running.errors().size());
            assertEquals("core.exec.resize", running.errors().get(0).offendingType());
            assertEquals("core.exec.signal", running.errors().get(1).offendingType());
            // An agent refusing frame after frame: the oldest are kept, the rest counted.
            for (int i = 0; i < ExecSession.ERRORS_KEPT + 40; i++) {
                send(new Frame(running.id(), MessageType.CORE_ERROR,
                        new ErrorPayload("invalid_payload", "refusal " + i, "core.exec.resize")));
            }
            send(new Frame(running.id(), MessageType.EXEC_STDOUT, new ExecData("after".getBytes(StandardCharsets.UTF_8))));
            assertEquals("after", running.nextOutput(WAIT).text());
            assertEquals(ExecSession.ERRORS_KEPT, running.errors().size());
            assertEquals("core.exec.signal", running.errors().get(1).offendingType(), "the oldest are kept");
            assertEquals(42, running.errorsNotKept());
            send(new Frame(running.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
            assertEquals(0, running.awaitExit(WAIT).code());
        }
    }

    @Test
    void bigStdinIsCutIntoFramesThatAddUp() throws Exception {
        try (AgentClient client = connected()) {
            ExecSession s = client.start(ExecRequest.of("cat"));
            receive();
            byte[] data = new byte[FrameWriter.DATA_CHUNK_BYTES * 3 + 17];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) (i * 31);
            }
            CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> {
                try {
                    s.writeStdin(data);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
            int frames = 0;
            while (got.size() < data.length) {
                Frame f = receive();
                assertEquals(s.id(), f.id());
                got.writeBytes(((ExecData) f.payload()).data());
                frames++;
            }
            writing.get(20, TimeUnit.SECONDS);
            assertEquals(4, frames);
            assertTrue(java.util.Arrays.equals(data, got.toByteArray()));
        }
    }

    @Test
    void anUnusableLengthFromThePeerEndsTheConnectionAndFailsItsSessions() throws Exception {
        AgentClient client = connected();
        ExecSession s = client.start(ExecRequest.of("x"));
        receive();
        sendBytes(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0, 0, 0, 1, 0});
        assertThrows(ConnectionLostException.class, () -> s.awaitExit(WAIT));
        assertFalse(client.isOpen());
    }

    @Test
    void anUndecodableFrameOnASessionFailsThatSessionOnly() throws Exception {
        try (AgentClient client = connected()) {
            ExecSession victim = client.start(ExecRequest.of("x"));
            ExecSession other = client.start(ExecRequest.of("y"));
            receive();
            receive();
            // a sound length and id, a body that is not CBOR
            ByteBuffer bad = ByteBuffer.allocate(4 + 5 + 3);
            bad.putInt(5 + 3).putInt((int) victim.id()).put((byte) 0).put(new byte[] {(byte) 0xff, 0x00, 0x13});
            sendBytes(bad.array());
            AgentException e = assertThrows(AgentException.class, () -> victim.awaitExit(WAIT));
            assertFalse(e instanceof ConnectionLostException, e.toString());

            send(new Frame(other.id(), MessageType.EXEC_STARTED, new ExecStarted(7)));
            send(new Frame(other.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
            assertEquals(0, other.awaitExit(WAIT).code());
            assertTrue(client.isOpen());
        }
    }

    @Test
    void aPeerThatHangsUpFailsOpenSessionsAndCallsAtOnce() throws Exception {
        AgentClient client = connected();
        ExecSession s = client.start(ExecRequest.of("x"));
        CompletableFuture<Frame> ping = client.call(MessageType.CORE_PING, io.agentd.protocol.payload.Empty.INSTANCE);
        receive();
        receive();
        peer.close();
        assertThrows(ConnectionLostException.class, () -> s.awaitExit(Duration.ofSeconds(1)));
        java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                () -> ping.get(1, TimeUnit.SECONDS));
        assertInstanceOf(ConnectionLostException.class, e.getCause());
    }

    /**
     * The agent is the untrusted side: a flood of core.error frames on id 0 (whose text tried to
     * forge a line and colour the terminal) and of undecodable frames made a log line each, with the
     * text raw. One line of each kind now, its text escaped, then one line that counts the rest.
     */
    @Test
    void aFloodOfUnattributableErrorsAndUndecodableFramesLogsOneEscapedLineAndACount() throws Exception {
        String text = loggedWhile(client -> {
            for (int i = 0; i < 300; i++) {
                send(new Frame(0, MessageType.CORE_ERROR, new ErrorPayload("malformed_message",
                        "A\n\u001b[31mFORGED LINE " + i, null)));
            }
            for (int i = 0; i < 300; i++) {
                ByteBuffer bad = ByteBuffer.allocate(4 + 5 + 2);
                bad.putInt(5 + 2).putInt(1000 + i).put((byte) 0).put(new byte[] {(byte) 0xff, (byte) 0xfe});
                sendBytes(bad.array());
            }
        });
        assertFalse(text.contains("\u001b"), "a raw escape in the log: " + text);
        java.util.List<String> lines = text.lines().toList();
        assertTrue(lines.stream().noneMatch(l -> l.contains("FORGED") && !l.contains("could not attribute")),
                "a line the agent forged: " + text);
        assertEquals(1, lines.stream().filter(l -> l.contains("could not attribute")).count(), text);
        assertTrue(text.contains("\"A\\n\\u001b[31mFORGED LINE 0\""), text);
        assertEquals(1, lines.stream().filter(l -> l.contains("undecodable frame from")).count(), text);
        assertTrue(lines.stream().anyMatch(l -> l.contains("299 more core.error frames on id 0 from the agent at")),
                text);
        assertTrue(lines.stream().anyMatch(l -> l.contains("299 more undecodable frames from the agent at")), text);
    }

    /**
     * The codec's message already quotes the agent's text (escaped once); the log line shows it as
     * the codec wrote it, not escaped a second time (backslashes doubled, quotes escaped).
     */
    @Test
    void anUndecodableFramesMessageIsShownAsTheCodecQuotedIt() throws Exception {
        String text = loggedWhile(client -> {
            byte[] type = "no\nsuch".getBytes(StandardCharsets.US_ASCII);
            ByteBuffer body = ByteBuffer.allocate(64);
            body.put(new byte[] {(byte) 0xa3, 0x61, 'v', 0x07, 0x61, 't', (byte) (0x60 + type.length)}).put(type)
                    .put(new byte[] {0x61, 'p', 0x40});
            ByteBuffer frame = ByteBuffer.allocate(4 + 5 + body.position());
            frame.putInt(5 + body.position()).putInt(7).put((byte) 0).put(body.array(), 0, body.position());
            sendBytes(frame.array());
        });
        String line = text.lines().filter(l -> l.contains("undecodable frame from")).findFirst().orElse(text);
        assertTrue(line.contains("unknown message type \"no\\nsuch\""), line);
    }

    /** A flood of frames a session does not expect (a host's type, sent by the agent) logs one line and a count. */
    @Test
    void aFloodOfFramesASessionDoesNotExpectLogsOneLineAndACount() throws Exception {
        String text = loggedWhile(client -> {
            ExecSession running = client.start(ExecRequest.of("sleep", "60"));
            assertEquals(running.id(), receive().id());
            send(new Frame(running.id(), MessageType.EXEC_STARTED, new ExecStarted(100)));
            assertEquals(100, running.awaitStarted(WAIT));
            for (int i = 0; i < 300; i++) {
                send(new Frame(running.id(), MessageType.EXEC_SIGNAL, new io.agentd.protocol.payload.ExecSignal(9)));
            }
        });
        java.util.List<String> lines = text.lines().toList();
        assertEquals(1, lines.stream().filter(l -> l.contains("unexpected core.exec.signal from the agent")).count(), text);
        assertTrue(lines.stream().anyMatch(l -> l.contains("299 more frames a session or fs request did not expect")),
                text);
    }

    /** What the client under test does while its log is taken. */
    private interface Flood {
        void sendTo(AgentClient client) throws Exception;
    }

    /**
     * The client's log (slf4j-simple writes to System.err, taken meanwhile) while {@code flood} runs
     * on a connected client, a ping answered after it (so its reader is past the flood) and its
     * close (which reports the counts of lines left out).
     */
    private String loggedWhile(Flood flood) throws Exception {
        java.io.PrintStream stderr = System.err;
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(log, true, StandardCharsets.UTF_8));
        try {
            try (AgentClient client = connected()) {
                flood.sendTo(client);
                CompletableFuture<Frame> pong = client.call(MessageType.CORE_PING,
                        io.agentd.protocol.payload.Empty.INSTANCE);
                Frame ping = receive();
                send(new Frame(ping.id(), MessageType.CORE_PONG, io.agentd.protocol.payload.Empty.INSTANCE));
                pong.get(20, TimeUnit.SECONDS);
            }
        } finally {
            System.setErr(stderr);
        }
        return log.toString(StandardCharsets.UTF_8);
    }
}
