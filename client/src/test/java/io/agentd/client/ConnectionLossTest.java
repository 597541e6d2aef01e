package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What the client does when the agent goes away; each test has a daemon of its own. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ConnectionLossTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void killingTheAgentFailsEveryOpenSessionWithinASecond(@TempDir Path dir) throws Exception {
        try (AgentdProcess agentd = AgentdProcess.start(dir); AgentClient client = agentd.connect()) {
            List<ExecSession> sessions = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                ExecSession s = client.start(ExecRequest.of("sleep", "60"));
                s.awaitStarted(WAIT);
                sessions.add(s);
            }
            ExecSession queued = client.start(ExecRequest.of("sleep", "60"));
            queued.awaitStarted(WAIT);

            agentd.kill();
            for (ExecSession s : sessions) {
                // a TimeoutException here means the loss was not noticed within the second
                assertThrows(ConnectionLostException.class, () -> s.awaitExit(Duration.ofSeconds(1)));
            }
            assertThrows(ConnectionLostException.class, () -> queued.awaitExit(Duration.ofSeconds(1)));
            assertEquals(null, queued.nextOutput(Duration.ofSeconds(1)), "the output queue ends too");
            assertFalse(client.isOpen());
            assertThrows(ConnectionLostException.class, () -> client.start(ExecRequest.of("true")));
            assertThrows(ConnectionLostException.class, () -> client.ping(WAIT));
        }
    }

    /**
     * A relay that stops closes its clients' connections: they were told "the agent at r.sock closed
     * the connection", though the client knows it is behind a relay (its greeting) and the agent may
     * be fine. Connected directly, the agent is still named.
     */
    @Test
    void aClosedConnectionNamesTheRelayWhenThereIsOne(@TempDir Path dir) throws Exception {
        try (ScriptedPeer relay = new ScriptedPeer(Files.createDirectory(dir.resolve("relay")));
                AgentClient client = relay.connectBehindRelay(new io.agentd.client.relay.IdRange(1, 5))) {
            relay.hangUp();
            awaitLoss(client); // a ping sent before the reader saw the end would be told of its failed write
            ConnectionLostException e = assertThrows(ConnectionLostException.class, () -> client.ping(WAIT));
            assertTrue(e.getMessage().startsWith("the relay at " + relay.socket() + " closed the connection"),
                    e.getMessage());
        }
        try (ScriptedPeer agent = new ScriptedPeer(Files.createDirectory(dir.resolve("agent")));
                AgentClient client = agent.connect()) {
            agent.hangUp();
            awaitLoss(client);
            ConnectionLostException e = assertThrows(ConnectionLostException.class, () -> client.ping(WAIT));
            assertTrue(e.getMessage().startsWith("the agent at " + agent.socket() + " closed the connection"),
                    e.getMessage());
        }
    }

    private static void awaitLoss(AgentClient client) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (client.isOpen()) {
            assertTrue(System.nanoTime() < deadline, "the client never saw the connection end");
            Thread.sleep(10);
        }
    }

    @Test
    void closingTheClientFailsItsOpenSessions(@TempDir Path dir) throws Exception {
        try (AgentdProcess agentd = AgentdProcess.start(dir)) {
            AgentClient client = agentd.connect();
            ExecSession s = client.start(ExecRequest.of("sleep", "60"));
            s.awaitStarted(WAIT);
            client.close();
            assertThrows(ConnectionLostException.class, () -> s.awaitExit(Duration.ofSeconds(1)));
            // the agent takes new connections afterwards
            try (AgentClient again = agentd.connect()) {
                assertEquals(0, again.run(ExecRequest.of("true"), WAIT).exitCode());
            }
        }
    }

    @Test
    void aSessionCutOffByAClosedClientFailsEveryLaterCallWithConnectionLost(@TempDir Path dir) throws Exception {
        try (AgentdProcess agentd = AgentdProcess.start(dir)) {
            AgentClient client = agentd.connect();
            ExecSession s = client.startWithStreams(ExecRequest.of("sleep", "60"));
            s.awaitStarted(WAIT);
            client.close();
            assertThrows(ConnectionLostException.class, () -> s.signal(9));
            assertThrows(ConnectionLostException.class, () -> s.resize(24, 80));
            assertThrows(ConnectionLostException.class, () -> s.stdin().write(1));
            assertThrows(ConnectionLostException.class, () -> s.stdout().read());
            s.closeStdin(); // documented: nothing to do once the session has ended
        }
    }

    @Test
    void shutdownStopsTheAgent(@TempDir Path dir) throws Exception {
        try (AgentdProcess agentd = AgentdProcess.start(dir); AgentClient client = agentd.connect()) {
            client.shutdown();
            assertTrue(client.awaitClosed(WAIT), "the agent closes the connection");
            assertTrue(agentd.waitForExit(WAIT), "the agent process exits");
        }
    }

    /**
     * The agent sends a session's last output and exited, then closes (a core.shutdown, the VM going
     * down), while this host writes to it: the write fails EPIPE before the reader has read those
     * frames (here its listener is busy with the output before them). The session still ends with its
     * status and its output. Before, the failed write closed the channel under the reader, and the
     * session failed ConnectionLostException (agentctl: 125 instead of the command's status).
     */
    @Test
    void framesTheAgentSentBeforeItClosedStillArriveAfterAWriteFailed(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir); AgentClient client = peer.connect()) {
            CountDownLatch listenerBusy = new CountDownLatch(1);
            CountDownLatch writeFailed = new CountDownLatch(1);
            StringBuilder output = new StringBuilder();
            ExecSession s = client.start(ExecRequest.of("x"), out -> {
                output.append(new String(out.data(), StandardCharsets.UTF_8));
                listenerBusy.countDown();
                try {
                    writeFailed.await(); // the reader stays here until the write has failed
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            Frame request = peer.receive();
            peer.send(new Frame(request.id(), MessageType.EXEC_STARTED, new ExecStarted(4321)));
            peer.send(new Frame(request.id(), MessageType.EXEC_STDOUT, new ExecData("first ".getBytes(StandardCharsets.UTF_8))));
            peer.send(new Frame(request.id(), MessageType.EXEC_STDOUT, new ExecData("last".getBytes(StandardCharsets.UTF_8))));
            peer.send(new Frame(request.id(), MessageType.EXEC_EXITED, new ExecExited(7, null, null)));
            assertTrue(listenerBusy.await(20, TimeUnit.SECONDS));
            peer.close();
            IOException failed = assertThrows(IOException.class, () -> {
                for (int i = 0; i < 100; i++) {
                    s.writeStdin(new byte[64 << 10]);
                }
            });
            assertTrue(failed instanceof ConnectionLostException, failed.toString());
            assertFalse(client.isOpen(), "nothing can be sent any more");
            writeFailed.countDown();
            assertEquals(7, s.awaitExit(WAIT).code());
            assertEquals("first last", output.toString());
            assertTrue(client.awaitClosed(WAIT), "the reader ends the connection at the end of what came");
        }
    }

    /**
     * As above, with a reader whose listener takes its time over each output (a slow pipe): the
     * connection is not ended under it while it goes on delivering, past the failed write's grace.
     */
    @Test
    void aSlowButProgressingReaderGetsEverythingAfterAWriteFailed(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir); AgentClient client = peer.connect()) {
            CountDownLatch firstOutput = new CountDownLatch(1);
            StringBuffer output = new StringBuffer();
            long slowMillis = FrameReader.WRITE_FAILURE_GRACE.toMillis() / 2;
            ExecSession s = client.start(ExecRequest.of("x"), out -> {
                output.append(new String(out.data(), StandardCharsets.UTF_8));
                firstOutput.countDown();
                try {
                    Thread.sleep(slowMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            Frame request = peer.receive();
            peer.send(new Frame(request.id(), MessageType.EXEC_STARTED, new ExecStarted(4321)));
            for (int i = 0; i < 4; i++) {
                peer.send(new Frame(request.id(), MessageType.EXEC_STDOUT, new ExecData(("" + i).getBytes(StandardCharsets.UTF_8))));
            }
            peer.send(new Frame(request.id(), MessageType.EXEC_EXITED, new ExecExited(7, null, null)));
            assertTrue(firstOutput.await(20, TimeUnit.SECONDS));
            peer.close();
            assertThrows(ConnectionLostException.class, () -> {
                for (int i = 0; i < 100; i++) {
                    s.writeStdin(new byte[64 << 10]);
                }
            });
            assertEquals(7, s.awaitExit(WAIT).code(), "delivered over twice the grace, never cut");
            assertEquals("0123", output.toString());
        }
    }

    /**
     * run() whose stdin the agent never takes: the agent sends the command's exit and closes while
     * the stdin write waits; the write then fails, and run() still says how the command ended (the
     * exit was in the socket): StdinNotDeliveredException with the result, as for any command that
     * ends before its input is sent. Before, it threw ConnectionLostException.
     */
    @Test
    void runReturnsTheExitTheAgentSentBeforeItClosedUnderTheStdinWrite(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir); AgentClient client = peer.connect()) {
            java.util.concurrent.CompletableFuture<ExecResult> run = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return client.run(ExecRequest.of("x"), new byte[32 << 20], WAIT);
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            Frame request = peer.receive();
            peer.send(new Frame(request.id(), MessageType.EXEC_STARTED, new ExecStarted(4321)));
            Thread.sleep(300); // the stdin write fills the socket: the peer reads no more
            peer.send(new Frame(request.id(), MessageType.EXEC_EXITED, new ExecExited(5, null, null)));
            Thread.sleep(300);
            peer.close();
            java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> run.get(20, TimeUnit.SECONDS));
            StdinNotDeliveredException notDelivered = assertInstanceOf(StdinNotDeliveredException.class,
                    e.getCause(), "the session ended before its stdin was sent: " + e.getCause());
            assertEquals(5, notDelivered.result().exitCode(), "with the exit the agent sent");
        }
    }
}
