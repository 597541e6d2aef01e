package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.ExecStdinCredit;
import io.agentd.protocol.payload.ExecStdinError;
import io.agentd.protocol.payload.Ready;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stdin flow control (PROTOCOL-EXTENSIONS "stdin flow control") and stdin errors, against a peer
 * that grants credit the way the test says and checks every stdin frame it gets.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class StdinFlowControlTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** Long enough for a writer that was going to send something to have sent it. */
    private static final long SETTLE_MS = 200;

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

    /** Runs {@code write} on another thread; the future fails with what it threw. */
    private static CompletableFuture<Void> writing(IoAction write) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                write.run();
                done.complete(null);
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        }, "test-writer");
        t.setDaemon(true);
        t.start();
        return done;
    }

    interface IoAction {
        void run() throws Exception;
    }

    private static Throwable failureOf(CompletableFuture<?> f) throws Exception {
        try {
            f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            throw new AssertionError("expected a failure");
        } catch (ExecutionException e) {
            return e.getCause();
        }
    }

    private ExecSession startWithWindow(AgentClient client) throws Exception {
        ExecSession s = client.start(ExecRequest.of("cat"));
        Frame request = peer.receive();
        assertEquals(MessageType.EXEC_REQUEST, request.type());
        assertTrue(((ExecRequest) request.payload()).stdinWindow(), "the request asks for the window");
        assertTrue(s.hasStdinWindow());
        return s;
    }

    private void grant(ExecSession s, long bytes) throws IOException {
        peer.send(new Frame(s.id(), MessageType.EXEC_STDIN_CREDIT, new ExecStdinCredit(bytes)));
    }

    @Test
    void noStdinIsSentPastTheBalanceAndTheWriterWaitsForCredit() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_STDIN_WINDOW)) {
            assertTrue(client.agentGrantsStdinCredit());
            ExecSession s = startWithWindow(client);
            byte[] data = new byte[300_000];
            new Random(7).nextBytes(data);
            CompletableFuture<Void> writer = writing(() -> {
                s.stdin().write(data);
                s.stdin().close();
            });

            Thread.sleep(SETTLE_MS);
            assertEquals(0, s.stdinBytesSent(), "nothing before the first credit");
            assertFalse(writer.isDone());
            peer.send(new Frame(s.id(), MessageType.EXEC_STARTED, new ExecStarted(42)));

            Random grants = new Random(11);
            long granted = 0;
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            int rounds = 0;
            while (got.size() < data.length) {
                long credit = Math.min(1 + grants.nextInt(9000), data.length - granted);
                grant(s, credit);
                granted += credit;
                while (got.size() < granted) {
                    Frame f = peer.receive();
                    assertEquals(MessageType.EXEC_STDIN, f.type());
                    byte[] chunk = ((ExecData) f.payload()).data();
                    assertTrue(chunk.length > 0, "data before the end of input");
                    got.writeBytes(chunk);
                    assertTrue(got.size() <= granted, "sent " + got.size() + " bytes with " + granted + " granted");
                }
                if (++rounds % 10 == 0 && got.size() < data.length) {
                    // balance spent: the writer must be waiting, not sending
                    Thread.sleep(20);
                    assertEquals(granted, s.stdinBytesSent());
                    assertFalse(writer.isDone(), "the writer waits for credit");
                }
            }
            assertArrayEquals(data, got.toByteArray());
            // the end of input needs no credit, and there is none left
            Frame eof = peer.receive();
            assertEquals(MessageType.EXEC_STDIN, eof.type());
            assertTrue(((ExecData) eof.payload()).isEmpty());
            writer.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertTrue(rounds > 30, "granted in small steps: " + rounds);
            peer.send(new Frame(s.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
            assertEquals(0, s.awaitExit(WAIT).code());
        }
    }

    @Test
    void runWaitsForCreditBeforeItsPipelinedStdin() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_STDIN_WINDOW)) {
            byte[] input = "some input".getBytes(StandardCharsets.UTF_8);
            CompletableFuture<ExecResult> run = CompletableFuture.supplyAsync(() -> {
                try {
                    return client.run(ExecRequest.of("cat"), input, WAIT);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Frame request = peer.receive();
            assertTrue(((ExecRequest) request.payload()).stdinWindow());
            long id = request.id();
            peer.send(new Frame(id, MessageType.EXEC_STARTED, new ExecStarted(9)));
            peer.send(new Frame(id, MessageType.EXEC_STDIN_CREDIT, new ExecStdinCredit(4)));
            Frame first = peer.receive();
            assertEquals("some", new String(((ExecData) first.payload()).data(), StandardCharsets.UTF_8),
                    "only what the credit allows");
            peer.send(new Frame(id, MessageType.EXEC_STDIN_CREDIT, new ExecStdinCredit(1 << 20)));
            assertEquals(" input", new String(((ExecData) peer.receive().payload()).data(), StandardCharsets.UTF_8));
            assertTrue(((ExecData) peer.receive().payload()).isEmpty());
            peer.send(new Frame(id, MessageType.EXEC_STDOUT, new ExecData(input)));
            peer.send(new Frame(id, MessageType.EXEC_EXITED, ExecExited.normal(0)));
            assertEquals("some input", run.get(20, TimeUnit.SECONDS).stdoutText());
        }
    }

    @Test
    void aWaitingWriterIsReleasedWhenTheSessionEnds() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_STDIN_WINDOW)) {
            ExecSession s = startWithWindow(client);
            peer.send(new Frame(s.id(), MessageType.EXEC_STARTED, new ExecStarted(5)));
            grant(s, 10);
            CompletableFuture<Void> writer = writing(() -> s.writeStdin(new byte[100]));
            assertEquals(10, ((ExecData) peer.receive().payload()).data().length);
            Thread.sleep(SETTLE_MS);
            assertFalse(writer.isDone(), "waits for credit");
            peer.send(new Frame(s.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
            Throwable e = failureOf(writer);
            assertInstanceOf(AgentException.class, e);
            assertTrue(e.getMessage().contains("has ended"), e.getMessage());
            assertEquals(10, s.stdinBytesSent());
        }
    }

    @Test
    void aWaitingWriterIsReleasedWhenTheConnectionIsLost() throws Exception {
        AgentClient client = peer.connect(Ready.FEATURE_STDIN_WINDOW);
        ExecSession s = startWithWindow(client);
        CompletableFuture<Void> writer = writing(() -> s.writeStdin(new byte[100]));
        Thread.sleep(SETTLE_MS);
        assertFalse(writer.isDone(), "waits for the first credit");
        peer.hangUp();
        assertInstanceOf(ConnectionLostException.class, failureOf(writer));
    }

    @Test
    void aWaitingWriterIsReleasedWhenTheClientCloses() throws Exception {
        AgentClient client = peer.connect(Ready.FEATURE_STDIN_WINDOW);
        ExecSession s = startWithWindow(client);
        CompletableFuture<Void> writer = writing(() -> s.stdin().write(new byte[100]));
        Thread.sleep(SETTLE_MS);
        client.close();
        assertInstanceOf(ConnectionLostException.class, failureOf(writer));
    }

    @Test
    void aWaitingWriterCanBeInterrupted() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_STDIN_WINDOW)) {
            ExecSession s = startWithWindow(client);
            CompletableFuture<Throwable> outcome = new CompletableFuture<>();
            Thread writer = new Thread(() -> {
                try {
                    s.writeStdin(new byte[100]);
                    outcome.complete(null);
                } catch (Throwable e) {
                    outcome.complete(e);
                }
            });
            writer.start();
            Thread.sleep(SETTLE_MS);
            writer.interrupt();
            Throwable e = outcome.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertInstanceOf(InterruptedIOException.class, e);
            assertFalse(s.isDone(), "the session goes on");
        }
    }

    @Test
    void runFailsWithTheAgentsStdinErrorAndKeepsTheResult() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_STDIN_WINDOW)) {
            CompletableFuture<ExecResult> run = CompletableFuture.supplyAsync(() -> {
                try {
                    return client.run(ExecRequest.of("cat"), new byte[1000], WAIT);
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            long id = peer.receive().id();
            peer.send(new Frame(id, MessageType.EXEC_STARTED, new ExecStarted(9)));
            peer.send(new Frame(id, MessageType.EXEC_STDIN_CREDIT, new ExecStdinCredit(1 << 20)));
            assertEquals(1000, ((ExecData) peer.receive().payload()).data().length);
            assertTrue(((ExecData) peer.receive().payload()).isEmpty());
            peer.send(new Frame(id, MessageType.EXEC_STDIN_ERROR,
                    new ExecStdinError(32, "EPIPE", "the child exited with 1000 bytes of stdin not delivered")));
            peer.send(new Frame(id, MessageType.EXEC_STDOUT, new ExecData("partial".getBytes(StandardCharsets.UTF_8))));
            peer.send(new Frame(id, MessageType.EXEC_EXITED, ExecExited.normal(0)));
            Throwable e = failureOf(run);
            StdinNotDeliveredException notDelivered = assertInstanceOf(StdinNotDeliveredException.class, e);
            assertEquals("EPIPE", notDelivered.errnoName());
            assertEquals(32, notDelivered.errno());
            assertTrue(notDelivered.getMessage().contains("EPIPE: the child exited"), notDelivered.getMessage());
            assertNotNull(notDelivered.result());
            assertEquals(0, notDelivered.result().exitCode());
            assertEquals("partial", notDelivered.result().stdoutText());
        }
    }

    @Test
    void withoutTheFeatureNothingWaitsAndAStdinErrorFailsLaterWritesAtOnce() throws Exception {
        try (AgentClient client = peer.connect()) { // an agent that predates flow control
            assertFalse(client.agentGrantsStdinCredit());
            ExecSession s = client.start(ExecRequest.of("cat"));
            assertFalse(((ExecRequest) peer.receive().payload()).stdinWindow(), "not asked of an old agent");
            assertFalse(s.hasStdinWindow());
            s.writeStdin(new byte[200_000]); // no credit ever comes: sent at once
            long got = 0;
            while (got < 200_000) {
                got += ((ExecData) peer.receive().payload()).data().length;
            }
            peer.send(new Frame(s.id(), MessageType.EXEC_STARTED, new ExecStarted(5)));
            peer.send(new Frame(s.id(), MessageType.EXEC_STDIN_ERROR,
                    new ExecStdinError(105, "ENOBUFS", "the session's stdin queue is full")));
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (s.stdinNotDelivered() == null && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            StdinNotDeliveredException e = s.stdinNotDelivered();
            assertNotNull(e);
            assertEquals("ENOBUFS", e.errnoName());
            assertEquals("ENOBUFS", s.stdinError().errnoName());
            OutputStream stdin = s.stdin();
            StdinNotDeliveredException again = org.junit.jupiter.api.Assertions.assertThrows(
                    StdinNotDeliveredException.class, () -> stdin.write(new byte[10]));
            assertEquals("ENOBUFS", again.errnoName());
            assertEquals(200_000, s.stdinBytesSent(), "nothing more was sent");
            // the end of input still goes out: the process gets what was queued, then EOF
            stdin.close();
            Frame eof = peer.receive();
            assertEquals(MessageType.EXEC_STDIN, eof.type());
            assertTrue(((ExecData) eof.payload()).isEmpty());
            peer.send(new Frame(s.id(), MessageType.EXEC_EXITED, ExecExited.normal(0)));
            assertEquals(0, s.awaitExit(WAIT).code());
            assertNull(s.nextOutput(WAIT));
        }
    }

    @Test
    void runFailsWhenTheSessionEndsBeforeItsInputWasSent() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_STDIN_WINDOW)) {
            CompletableFuture<ExecResult> run = CompletableFuture.supplyAsync(() -> {
                try {
                    return client.run(ExecRequest.of("true"), new byte[50], WAIT);
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            long id = peer.receive().id();
            peer.send(new Frame(id, MessageType.EXEC_STARTED, new ExecStarted(9)));
            peer.send(new Frame(id, MessageType.EXEC_STDIN_CREDIT, new ExecStdinCredit(20)));
            assertEquals(20, ((ExecData) peer.receive().payload()).data().length);
            peer.send(new Frame(id, MessageType.EXEC_EXITED, ExecExited.normal(3)));
            StdinNotDeliveredException e = assertInstanceOf(StdinNotDeliveredException.class, failureOf(run));
            assertTrue(e.getMessage().contains("30 of 50 bytes"), e.getMessage());
            assertEquals(3, e.result().exitCode());
        }
    }

    /** A PTY session's end of input is a ^D, data that waits for credit: run's timeout holds for it too. */
    @Test
    void runGivesUpAtItsTimeoutWhenAPtysEndOfInputFindsNoCredit() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_STDIN_WINDOW)) {
            ExecRequest pty = new ExecRequest("cat", List.of(), List.of(), null, null, true, 24, 80, List.of(), null);
            CompletableFuture<ExecResult> run = CompletableFuture.supplyAsync(() -> {
                try {
                    return client.run(pty, new byte[] {'x', '\n'}, Duration.ofMillis(500));
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            long id = peer.receive().id();
            peer.send(new Frame(id, MessageType.EXEC_STARTED, new ExecStarted(9)));
            peer.send(new Frame(id, MessageType.EXEC_STDIN_CREDIT, new ExecStdinCredit(2))); // the input, not the ^D
            assertEquals(MessageType.EXEC_STDIN, peer.receive().type());
            assertInstanceOf(java.util.concurrent.TimeoutException.class, failureOf(run));
            Frame kill = peer.receive();
            assertEquals(MessageType.EXEC_SIGNAL, kill.type(), "the timed-out session is killed");
        }
    }

    @Test
    void runGivesUpAtItsTimeoutWhileWaitingForCredit() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_STDIN_WINDOW)) {
            long t0 = System.nanoTime();
            CompletableFuture<ExecResult> run = CompletableFuture.supplyAsync(() -> {
                try {
                    return client.run(ExecRequest.of("cat"), new byte[50], Duration.ofMillis(500));
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            long id = peer.receive().id();
            peer.send(new Frame(id, MessageType.EXEC_STARTED, new ExecStarted(9))); // and no credit
            assertInstanceOf(java.util.concurrent.TimeoutException.class, failureOf(run));
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5));
            Frame kill = peer.receive();
            assertEquals(MessageType.EXEC_SIGNAL, kill.type(), "the timed-out session is killed");
        }
    }
}
