package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecResize;
import io.agentd.protocol.payload.ExecSignal;
import io.agentd.protocol.payload.Rlimit;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 11: a host that sends anything. Random batches of valid and invalid frames (bad lengths,
 * bad CBOR, unknown types, wrong flags, unknown ids, huge fields, stdin floods, signals, resizes,
 * missing binaries, users that do not exist, short-lived commands) against one agent with a small
 * heap; after each batch it must answer core.ping, and at the end no fd, child process or session
 * may be left over.
 *
 * <p>Seeded and reproducible: {@code -Dagentd.soak.seed=N} replays a run (a failure prints its seed);
 * {@code -Dagentd.soak.seconds=N} sets its length (default 40).
 */
class HostileHostSoakTest {
    private static final long SECONDS = Long.getLong("agentd.soak.seconds", 40);
    private static final Duration SETTLE = Duration.ofSeconds(10);
    /** Ids the batches' odd frames use; sessions count up from 1 far below them. */
    private static final long ODD_IDS = 3_000_000_000L;

    private final FrameEncoder encoder = new FrameEncoder();
    private Random random;
    private AgentProcess agent;
    private HostConnection host;
    private long nextSessionId = 1;
    private long nextPingId = 2_000_000_000L;

    @Test
    void randomHostileBatchesLeaveTheAgentServingAndNothingLeftOver() throws Exception {
        long seed = Long.getLong("agentd.soak.seed", System.nanoTime());
        random = new Random(seed);
        // The run's length and up to 260 s for its start, its last batch and the settling after it:
        // a fixed limit would fail every -Dagentd.soak.seconds longer than itself.
        assertTimeoutPreemptively(Duration.ofSeconds(SECONDS + 260), () -> {
            try {
                soak();
            } catch (AssertionError | Exception e) {
                throw new AssertionError("soak failed with seed " + seed + " (-Dagentd.soak.seed=" + seed + "): " + e
                        + (agent == null ? "" : "\nagent log tail:\n" + tail(agent.logText())), e);
            }
        }, () -> "soak timed out with seed " + seed + " (-Dagentd.soak.seed=" + seed + ")"
                + (agent == null ? "" : "\nagent log tail:\n" + tail(agent.logText())));
    }

    private void soak() throws Exception {
        agent = AgentProcess.startWithJavaOpts("soak", FloodsE2ETest.SMALL_HEAP, "--stdin-limit", "4m",
                "--stdin-total", "16m", "--drain-ms", "50", "--grace-ms", "200");
        try {
            host = agent.connectReady();
            long pid = agent.pid();
            batch(); // the first batch loads what the agent loads lazily; the baseline is taken after it
            ping();
            int baselineFds = settledFdCount(pid, Integer.MAX_VALUE);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
            int batches = 1;
            while (System.nanoTime() < deadline) {
                batch();
                ping();
                if (random.nextInt(6) == 0) {
                    untrustedLength();
                }
                batches++;
            }
            awaitTrue(() -> Procs.children(pid).isEmpty(), "children of the agent left: " + Procs.children(pid));
            int fds = settledFdCount(pid, baselineFds);
            assertTrue(fds <= baselineFds, "fds: " + baselineFds + " after the first batch, " + fds + " after "
                    + batches + " batches");
            host.send(new Frame(0, MessageType.CORE_SHUTDOWN, null));
            assertEquals(0, agent.awaitExit(Duration.ofSeconds(30)));
            assertTrue(agent.logText().contains("0 session(s) running"),
                    "sessions left at the end:\n" + tail(agent.logText()));
        } finally {
            if (host != null) {
                host.close();
            }
            agent.close();
        }
    }

    /** 5-30 random actions; then every session they started must end. */
    private void batch() throws Exception {
        List<Long> sessions = new ArrayList<>();
        int actions = 5 + random.nextInt(26);
        for (int i = 0; i < actions; i++) {
            switch (random.nextInt(14)) {
                case 0 -> sessions.add(exec(Requests.sh(pick("true", "exit 3", "echo out; echo err >&2",
                        "kill -9 $$", "head -c 100000 /dev/zero"))));
                case 1 -> sessions.add(exec(ExecRequest.of(pick("/does/not/exist", "no-such-binary-here", "/etc"))));
                case 2 -> sessions.add(exec(new ExecRequest("true", List.of(), List.of(), null,
                        pick("no-such-user-xyz", "4000000:4000000", "nobody:no-such-group"), false, 24, 80, List.of(),
                        null)));
                case 3 -> sessions.add(stdinFlood());
                case 4 -> sessions.add(signalled());
                case 5 -> sessions.add(resized());
                case 6 -> sessions.add(exec(hugeFields()));
                case 7 -> host.sendRaw(badCbor());
                case 8 -> host.sendRaw(unknownType());
                case 9 -> host.sendRaw(wrongFlags());
                case 10 -> unknownIds();
                case 11 -> sessions.add(exec(Requests.withTimeout(Requests.sh("sleep 5"), random.nextInt(3) * 50L)));
                case 12 -> sessions.add(exec(new ExecRequest("true", List.of(), List.of(), null, null, false, 24, 80,
                        List.of(new Rlimit(pick("nofile", "bogus", "nproc"), random.nextInt(4096), 4096)), null)));
                default -> host.send(new Frame(oddId(), MessageType.CORE_TOUCH, Empty.INSTANCE));
            }
        }
        for (long id : sessions) {
            awaitTerminal(id);
        }
    }

    private long exec(ExecRequest request) throws IOException {
        long id = nextSessionId++;
        host.exec(id, request);
        return id;
    }

    /** stdin to a child that reads it all, or to one that never reads (queue limits, EPIPE), then EOF. */
    private long stdinFlood() throws IOException {
        long id = exec(Requests.sh(random.nextBoolean() ? "cat >/dev/null" : "sleep 0.2"));
        int frames = 1 + random.nextInt(64);
        for (int i = 0; i < frames; i++) {
            byte[] data = new byte[random.nextInt(4) == 0 ? 1 : random.nextInt(64 * 1024)];
            random.nextBytes(data);
            host.stdin(id, data);
        }
        host.stdin(id, new byte[0]);
        if (random.nextBoolean()) {
            host.stdin(id, new byte[] {1}); // after the end of input
        }
        return id;
    }

    private long signalled() throws IOException {
        long id = exec(Requests.sh("sleep 5"));
        int signal = random.nextInt(4) == 0 ? random.nextInt(70) - 2 : pick(9, 15, 2, 1);
        host.send(new Frame(id, MessageType.EXEC_SIGNAL, new ExecSignal(signal)));
        host.send(new Frame(id, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
        return id;
    }

    private long resized() throws IOException {
        boolean tty = random.nextBoolean();
        long id = exec(tty ? Requests.tty("sleep", "0.1") : Requests.sh("sleep 0.1"));
        host.send(new Frame(id, MessageType.EXEC_RESIZE, new ExecResize(random.nextInt(500), random.nextInt(500))));
        return id;
    }

    /** Large but not flood-sized: the memory floods have their own tests (FloodsE2ETest). */
    private ExecRequest hugeFields() {
        return switch (random.nextInt(4)) {
            case 0 -> ExecRequest.of("x".repeat(100_000 + random.nextInt(1_000_000)));
            case 1 -> new ExecRequest("true", Collections.nCopies(1000 + random.nextInt(20_000), "a"), List.of(),
                    null, null, false, 24, 80, List.of(), null);
            case 2 -> new ExecRequest("true", List.of(), Collections.nCopies(1000 + random.nextInt(5000), "K=v"),
                    null, null, false, 24, 80, List.of(), null);
            default -> new ExecRequest("true", List.of(), List.of(), "/" + "d".repeat(100_000), null, false, 24, 80,
                    List.of(), null);
        };
    }

    /** A ping frame whose CBOR body is replaced by random bytes of the same length. */
    private byte[] badCbor() {
        byte[] frame = encoder.encode(new Frame(oddId(), MessageType.CORE_PING, Empty.INSTANCE));
        for (int i = 9; i < frame.length; i++) {
            frame[i] = (byte) random.nextInt(256);
        }
        return frame;
    }

    private byte[] unknownType() {
        byte[] frame = encoder.encode(new Frame(oddId(), MessageType.CORE_PING, Empty.INSTANCE));
        byte[] from = "core.ping".getBytes(StandardCharsets.US_ASCII);
        byte[] to = "core.nope".getBytes(StandardCharsets.US_ASCII);
        int at = indexOf(frame, from);
        System.arraycopy(to, 0, frame, at, to.length);
        return frame;
    }

    private byte[] wrongFlags() {
        byte[] frame = encoder.encode(new Frame(oddId(), MessageType.CORE_PING, Empty.INSTANCE));
        frame[8] = (byte) (1 + random.nextInt(255));
        return frame;
    }

    private void unknownIds() throws IOException {
        long id = oddId();
        switch (random.nextInt(3)) {
            case 0 -> host.stdin(id, new byte[] {1, 2, 3});
            case 1 -> host.send(new Frame(id, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
            default -> host.send(new Frame(id, MessageType.EXEC_RESIZE, new ExecResize(24, 80)));
        }
    }

    /** A length the agent cannot trust: it answers on id 0 and drops the connection; a new host connects. */
    private void untrustedLength() throws Exception {
        byte[] prefix = ByteBuffer.allocate(4).putInt(random.nextBoolean() ? -1 : random.nextInt(5)).array();
        host.sendRaw(prefix);
        host.expectError(0, "malformed_message");
        awaitTrue(host::disconnected, "the agent kept the connection after an untrusted length");
        host.close();
        host = agent.connectReady();
    }

    private void ping() throws Exception {
        long id = nextPingId++;
        host.send(new Frame(id, MessageType.CORE_PING, Empty.INSTANCE));
        host.expect(id, MessageType.CORE_PONG);
        assertTrue(agent.isAlive(), "the agent died");
    }

    /**
     * Frames on the session until its exited or failed. Anything else on the id (output, stdin.error,
     * core.error for a refused signal or resize) is skipped.
     */
    private void awaitTerminal(long id) throws Exception {
        MessageType type;
        do {
            type = host.next(id).type();
        } while (type != MessageType.EXEC_EXITED && type != MessageType.EXEC_FAILED);
    }

    /** The agent's fd count once it stops going down (the pipes of ended sessions close in the loop). */
    private static int settledFdCount(long pid, int target) throws Exception {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        int count = Procs.fdCount(pid);
        while (count > target && System.nanoTime() < deadline) {
            Thread.sleep(100);
            count = Procs.fdCount(pid);
        }
        return count;
    }

    private static void awaitTrue(UnanswerableInputE2ETest.Check check, String failure) throws Exception {
        UnanswerableInputE2ETest.awaitTrue(check, SETTLE, failure);
    }

    private long oddId() {
        return ODD_IDS + random.nextInt(1_000_000);
    }

    @SafeVarargs
    private <T> T pick(T... choices) {
        return choices[random.nextInt(choices.length)];
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new IllegalArgumentException("not found");
    }

    private static String tail(String log) {
        return log.length() <= 6000 ? log : log.substring(log.length() - 6000);
    }
}
