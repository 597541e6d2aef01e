package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.relay.Relay;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Ready;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sessions whose stdout() nobody reads, on a real agent, directly and behind a real relay: the
 * client asks the agent to hold each one's output (relay_flow for one id), so a command run on the
 * same connection meanwhile gets its output and exit, and every held byte comes later, in order.
 * Before, the first full stream stopped the connection's reader and the second command waited for it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@ExtendWith(SharedAgent.class)
class SessionOutputHoldEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    /** seq 1 N prints ~6.9 MB for N = 1,000,000: far past a stream's 256 KiB and the agent's 1 MiB mark. */
    private static final int LINES = 1_000_000;

    @Test
    void unreadSessionsHoldUpNothingElseOnTheirConnection(AgentdProcess agentd) throws Exception {
        try (AgentClient client = agentd.connect()) {
            assertTrue(client.ready().supports(Ready.FEATURE_RELAY_FLOW));
            unreadSessionsHoldUpNothingElse(client);
        }
    }

    @Test
    void throughARelayToo(AgentdProcess agentd, @TempDir Path dir) throws Exception {
        try (Relay relay = Relay.start(agentd.socket, dir.resolve("relay.sock"))) {
            relay.awaitAgentReady(WAIT);
            try (AgentClient client = AgentClient.connect(relay.listenPath(), WAIT)) {
                assertTrue(client.relayRange() != null, "connected through the relay");
                unreadSessionsHoldUpNothingElse(client);
            }
        }
    }

    /**
     * Many holds and releases at once: small streams (16 KiB, so each session is paused and resumed
     * hundreds of times) read by slow readers in odd sizes, with pauses. A hold sent after its reader
     * had already emptied the stream would never be released, and that session would hang here.
     */
    @Test
    void slowReadersOfSmallStreamsGetEveryByteAndNoSessionStaysHeld(AgentdProcess agentd) throws Exception {
        int lines = 300_000;
        try (AgentClient client = agentd.connect()) {
            List<ExecSession> sessions = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                sessions.add(client.startWithStreams(ExecRequest.of("seq", "1", String.valueOf(lines)), 16 * 1024));
            }
            ExecutorService readers = Executors.newFixedThreadPool(4);
            try {
                List<Future<Long>> read = new ArrayList<>();
                for (ExecSession s : sessions) {
                    long seed = s.id();
                    read.add(readers.submit(() -> {
                        Random random = new Random(seed);
                        byte[] buffer = new byte[4096];
                        long total = 0;
                        int n;
                        while ((n = s.stdout().read(buffer, 0, 1 + random.nextInt(buffer.length))) >= 0) {
                            total += n;
                            if (random.nextInt(64) == 0) {
                                Thread.sleep(1);
                            }
                        }
                        return total;
                    }));
                }
                long expected = seqBytes(lines);
                for (int i = 0; i < sessions.size(); i++) {
                    assertEquals(expected, read.get(i).get(60, TimeUnit.SECONDS), "session " + i);
                    assertEquals(0, sessions.get(i).awaitExit(WAIT).code());
                    assertFalse(sessions.get(i).streams().held());
                }
            } finally {
                readers.shutdownNow();
            }
        }
    }

    private static long seqBytes(int lines) {
        long total = 0;
        for (int i = 1; i <= lines; i++) {
            total += String.valueOf(i).length() + 1;
        }
        return total;
    }

    /** A listener's caller pauses a session (its consumer is full) and resumes it: nothing is lost. */
    @Test
    void aListenerSessionPausedOnRequestWaitsWithoutBlockingTheReader(AgentdProcess agentd) throws Exception {
        try (AgentClient client = agentd.connect()) {
            AtomicLong received = new AtomicLong();
            ExecSession s = client.start(ExecRequest.of("seq", "1", String.valueOf(LINES)),
                    output -> received.addAndGet(output.data().length));
            assertTrue(s.pauseOutput());
            Thread.sleep(1000); // unpaused, seq's 6.9 MB would be done well within this
            ExecResult echo = client.run(ExecRequest.of("echo", "not held up"), WAIT);
            assertEquals("not held up\n", new String(echo.stdout(), StandardCharsets.UTF_8));
            assertFalse(s.isDone(), "paused: seq blocks writing; " + received.get() + " bytes came before the pause took");
            s.resumeOutput();
            assertEquals(0, s.awaitExit(WAIT).code());
            assertEquals(seqOutput().length, received.get(), "every byte");
        }
    }

    private static void unreadSessionsHoldUpNothingElse(AgentClient client) throws Exception {
        List<ExecSession> unread = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            unread.add(client.startWithStreams(ExecRequest.of("seq", "1", String.valueOf(LINES))));
        }
        for (ExecSession s : unread) {
            s.awaitStarted(WAIT);
        }
        for (ExecSession s : unread) {
            // their output reaches the client's streams and fills them: on a loaded machine, not at once
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (!s.streams().held() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(s.streams().held(), "session " + s.id() + " asked to be held");
        }
        ExecResult echo = client.run(ExecRequest.of("echo", "not held up"), WAIT);
        assertEquals("not held up\n", new String(echo.stdout(), StandardCharsets.UTF_8));
        client.ping(WAIT);
        for (ExecSession s : unread) {
            assertFalse(s.isDone(), "held, so seq is blocked writing, not done");
            assertTrue(s.stdout().available() <= AgentClient.DEFAULT_STREAM_BUFFER_BYTES + OutputStreams.IN_FLIGHT_BYTES,
                    "what waits in the client stays bounded: " + s.stdout().available());
        }
        String expected = sha256(seqOutput());
        for (ExecSession s : unread) {
            assertEquals(expected, sha256(s.stdout()), "every byte of session " + s.id() + ", in order");
            assertEquals(0, s.awaitExit(WAIT).code());
            assertFalse(s.streams().held(), "released by the end");
        }
    }

    private static byte[] seqOutput() {
        StringBuilder b = new StringBuilder(7_000_000);
        for (int i = 1; i <= LINES; i++) {
            b.append(i).append('\n');
        }
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    private static String sha256(InputStream in) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] buffer = new byte[64 * 1024];
        int n;
        long total = 0;
        try {
            while ((n = in.read(buffer)) >= 0) {
                digest.update(buffer, 0, n);
                total += n;
            }
        } catch (IOException e) {
            throw new IOException("after " + total + " bytes", e);
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
