package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.ProtocolException;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionListResult;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 11: memory bounded against floods of host input, shown with a small heap. After each flood
 * the same agent process answers core.ping.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class FloodsE2ETest {
    static final String SMALL_HEAP = "-Xmx48m";

    /**
     * Case 1: 2,000,000 one-character args (a 4 MB frame) are refused by the codec's request limits
     * before anything is copied. Needs the protocol branch's limits: skipped until they are merged.
     */
    @Test
    void twoMillionArgsAreRefusedAsBadArgs() throws Exception {
        assumeTrue(codecChecksRequestLimits(), "the codec on this branch has no request limits yet");
        byte[] frame = new FrameEncoder().encode(new Frame(1, MessageType.EXEC_REQUEST,
                request("true", Collections.nCopies(2_000_000, "a"))));
        try (AgentProcess agent = AgentProcess.startWithJavaOpts("args-flood", SMALL_HEAP);
                HostConnection host = agent.connectReady()) {
            host.sendRaw(frame);
            ExecFailed failed = (ExecFailed) host.expect(1, MessageType.EXEC_FAILED).payload();
            assertEquals("bad_args", failed.kind(), failed.toString());
            assertAnswersPing(agent, host, 2);
        }
    }

    /**
     * Case 5 with a small heap: a cmd of 4,194,104 bytes, and one as long with an unknown rlimit
     * (whose failure quotes both), are answered exec.failed on their ids.
     */
    @Test
    void fourMegabyteCmdsAreAnsweredFailed() throws Exception {
        try (AgentProcess agent = AgentProcess.startWithJavaOpts("cmd-flood", SMALL_HEAP);
                HostConnection host = agent.connectReady()) {
            for (long id = 1; id <= 4; id++) {
                host.exec(id, id % 2 == 1 ? ExecRequest.of("x".repeat(4_194_104))
                        : UnanswerableInputE2ETest.largestRequestWithAnUnknownRlimit());
                host.expect(id, MessageType.EXEC_FAILED);
            }
            assertAnswersPing(agent, host, 9);
        }
    }

    /**
     * Exec requests answered failed before anything runs (start_detached without detachable: bad_args),
     * sent in a loop by two hosts: each is answered, but the log gets at most 20 of their lines a
     * second over all connections, and a count of the rest. Before, one line each: on the guest's
     * serial console, a loop thread blocked on the log for every host.
     */
    @Test
    void requestsThatFailBeforeAnythingRunsAreEachAnsweredAndLoggedAtOneRate() throws Exception {
        try (AgentProcess agent = AgentProcess.start("failed-flood");
                HostConnection a = agent.connectReady(); HostConnection b = agent.connectReady()) {
            int n = 1500;
            ExecRequest bad = ExecRequest.of("true").withStartDetached(true);
            long start = System.nanoTime();
            for (long id = 1; id <= n; id++) {
                a.exec(id, bad);
                b.exec(id, bad);
            }
            for (long id = 1; id <= n; id++) {
                assertEquals("bad_args", a.collect(id, HostConnection.TIMEOUT).failed().kind());
                assertEquals("bad_args", b.collect(id, HostConnection.TIMEOUT).failed().kind());
            }
            long seconds = java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start) + 1;
            long lines = agent.logText().lines().filter(l -> l.contains("failed: kind=bad_args")).count();
            assertTrue(lines <= 20 * (seconds + 1), lines + " lines in " + seconds + " s");
            assertAnswersPing(agent, a, 2 * n + 1);
        }
    }

    /**
     * A host that connects and closes in a loop (any local user the socket admits can) is served
     * every time, but its connections' lines (served, hang-up, closed: three each) share one rate:
     * each is logged or counted in a "not logged" line after its second.
     */
    @Test
    void aConnectAndCloseLoopIsServedEveryTimeAndLoggedAtALimitedRate() throws Exception {
        int connections = 300;
        long lines = 3L * connections;
        try (AgentProcess agent = AgentProcess.start("connect-flood")) {
            for (int i = 0; i < connections; i++) {
                try (HostConnection host = agent.connectReady()) {
                    // served: core.ready came; the close is the host's
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            String log;
            long logged;
            long leftOut;
            do {
                Thread.sleep(200);
                log = agent.logText();
                logged = connectionLines(log);
                leftOut = java.util.regex.Pattern.compile("(\\d+) more lines of connections opened and closed in the last second not logged")
                        .matcher(log).results().mapToLong(m -> Long.parseLong(m.group(1))).sum();
            } while (logged + leftOut < lines && System.nanoTime() < deadline);
            assertEquals(lines, logged + leftOut, log);
            // normal life counted at the level of its lines, not as a warning
            assertTrue(leftOut > 0 && log.lines().filter(l -> l.contains("more lines of connections opened and closed"))
                    .allMatch(l -> l.contains(" INFO ")), log);
            assertTrue(logged < lines / 3, logged + " lines for " + connections + " connections");
            try (HostConnection host = agent.connectReady()) {
                assertAnswersPing(agent, host, 1);
            }
        }
    }

    /**
     * At --log-level debug, a host that sends clock.sync in a loop (each within the step threshold,
     * so left alone) gets one debug line per 10 s, the rest counted: a line each went to the serial
     * console unlimited.
     */
    @Test
    void aClockSyncLoopAtDebugLevelIsLoggedAtALimitedRate() throws Exception {
        try (AgentProcess agent = AgentProcess.start("clock-sync-flood", "--log-level", "debug");
                HostConnection host = agent.connectReady()) {
            int n = 2000;
            FrameEncoder encoder = new FrameEncoder();
            java.io.ByteArrayOutputStream frames = new java.io.ByteArrayOutputStream();
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                long now = System.currentTimeMillis() * 1_000_000L;
                frames.writeBytes(encoder.encode(new Frame(0, MessageType.CORE_CLOCK_SYNC,
                        new io.agentd.protocol.payload.ClockSync(now))));
            }
            host.sendRaw(frames.toByteArray());
            assertAnswersPing(agent, host, 1); // every clock.sync before it was taken
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
            long lines = agent.logText().lines().filter(l -> l.contains("clock.sync: off by")).count();
            assertTrue(lines >= 1 && lines <= 1 + seconds / 10 + 1, lines + " lines in " + seconds + " s:\n"
                    + agent.logText().lines().limit(40).collect(java.util.stream.Collectors.joining("\n")));
        }
    }

    /** The log's lines of connections served, hung up and closed: three a connection. */
    private static long connectionLines(String log) {
        return log.lines().filter(l -> l.contains("Connection: host connected: connection ")
                || l.contains(" connection(s) open") || (l.contains("host link on fd ") && l.contains(" closed: ")))
                .count();
    }

    /**
     * Fifteen hosts at once, as a script running agentctl in parallel does: each connection's lines
     * (served, hang-up, closed) are all logged, none left to a count (20 a second left some out).
     */
    @Test
    void fifteenHostsAtOnceAreEachLoggedWhole() throws Exception {
        int connections = 15;
        try (AgentProcess agent = AgentProcess.start("fifteen-at-once")) {
            java.util.List<HostConnection> hosts = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < connections; i++) {
                    hosts.add(agent.connectReady());
                }
            } finally {
                for (HostConnection host : hosts) {
                    host.close();
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            String log;
            long logged;
            do {
                Thread.sleep(200);
                log = agent.logText();
                logged = connectionLines(log);
            } while (logged < 3L * connections && System.nanoTime() < deadline);
            assertEquals(3L * connections, logged, log);
            assertFalse(log.contains("lines of connections opened and closed in the last second not logged"), log);
        }
    }

    /**
     * Frames of the largest size the decoder accepts: garbage bodies (malformed) and stdin data for
     * sessions that do not exist (invalid_session). Each is buffered whole before it is refused.
     */
    @Test
    void aStreamOfMaximumSizeGarbageFramesIsRefusedFrameByFrame() throws Exception {
        Random random = new Random(11);
        byte[] garbage = new byte[Protocol.LENGTH_BYTES + Protocol.MAX_FRAME_LEN];
        byte[] stdin = new FrameEncoder().encode(new Frame(77, MessageType.EXEC_STDIN,
                new ExecData(new byte[FrameEncoder.maxDataChunk()])));
        try (AgentProcess agent = AgentProcess.startWithJavaOpts("garbage-flood", SMALL_HEAP);
                HostConnection host = agent.connectReady()) {
            for (int i = 0; i < 30; i++) {
                if (i % 3 == 2) {
                    host.sendRaw(stdin);
                    continue;
                }
                random.nextBytes(garbage);
                ByteBuffer.wrap(garbage).putInt(0, Protocol.MAX_FRAME_LEN).putInt(4, 100 + i);
                garbage[8] = 0; // flags
                garbage[9] = (byte) 0xff; // no CBOR map starts with a break
                host.sendRaw(garbage);
            }
            for (int i = 0; i < 30; i++) {
                if (i % 3 != 2) {
                    host.expect(100 + i, MessageType.CORE_ERROR);
                }
            }
            for (int i = 0; i < 10; i++) {
                host.expectError(77, "invalid_session");
            }
            assertAnswersPing(agent, host, 1);
        }
    }

    /**
     * A host that does not read sends, in one write, 500 pairs of core.session.attach (each replays
     * the session's whole kept output, ~1 MB, into the host's queue) and core.session.detach (which
     * makes the next attach replay it again). Once its input is paused, the frames of that write
     * still unanswered wait: the agent queues the pause mark plus one replay, not 500 MB. Another
     * host is served meanwhile; the flooding host's waiting frames go with it when it closes.
     */
    @Test
    void attachDetachPairsFromAHostThatDoesNotReadAreNotAnsweredPastThePause() throws Exception {
        try (AgentProcess agent = AgentProcess.startWithJavaOpts("attach-flood", SMALL_HEAP)) {
            long number;
            try (HostConnection host = agent.connectReady()) {
                number = SessionsE2ETest.startDetached(host, 5,
                        Requests.sh("head -c 1000000 /dev/zero; sleep 60").withStartDetached(true));
                awaitKept(host, number, 1_000_000);
                host.pauseReading();
                List<Frame> pairs = new ArrayList<>();
                for (int i = 0; i < 500; i++) {
                    pairs.add(new Frame(100, MessageType.SESSION_ATTACH, new SessionAttach(number, 0L, false)));
                    pairs.add(new Frame(100, MessageType.SESSION_DETACH, Empty.INSTANCE));
                }
                host.sendTogether(pairs.toArray(Frame[]::new));
                Thread.sleep(1000);
                try (HostConnection other = agent.connectReady()) {
                    assertAnswersPing(agent, other, 1);
                }
            }
            try (HostConnection other = agent.connectReady()) {
                assertAnswersPing(agent, other, 2);
            }
        }
    }

    /**
     * The same with core.session.list: 50 exited detached sessions with a 2 KB cmd each make every
     * answer ~60 KB. A raw host sends 80 lists without reading (its input pauses), then 1,800 more
     * in one write, which wait in the socket; it then reads the answers to the first 80 only, so
     * that the agent reads again, one read holding some 1,700 lists, and stops reading. Answering
     * them all would queue ~100 MB (before, the agent halted on OutOfMemoryError within seconds); it
     * answers up to the pause and waits.
     */
    @Test
    void listRequestsFromAHostThatDoesNotReadAreNotAnsweredPastThePause() throws Exception {
        try (AgentProcess agent = AgentProcess.startWithJavaOpts("list-flood", SMALL_HEAP)) {
            try (HostConnection host = agent.connectReady()) {
                for (int i = 0; i < 50; i++) {
                    SessionsE2ETest.startDetached(host, 10 + i,
                            ExecRequest.of("/".repeat(2000) + "bin/sh", "-c", "exit 0").withStartDetached(true));
                }
                int answer = new FrameEncoder().encode(new Frame(9, MessageType.SESSION_LIST_RESULT,
                        new SessionListResult(SessionsE2ETest.list(host, 9), 0))).length;
                assertTrue(answer > 50_000, "a list answer is " + answer + " bytes");
            }
            try (SocketChannel raw = agent.connectRaw()) {
                RawReader reader = new RawReader(raw);
                reader.await(MessageType.CORE_READY, 1);
                raw.write(ByteBuffer.wrap(lists(80)));
                Thread.sleep(500);
                raw.write(ByteBuffer.wrap(lists(1_800)));
                Thread.sleep(500);
                reader.await(MessageType.SESSION_LIST_RESULT, 80);
                // Building an answer takes ms: answering the whole read would take several seconds.
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (System.nanoTime() < until && agent.isAlive()) {
                    Thread.sleep(200);
                }
                assertTrue(agent.isAlive(), "the agent did not survive:\n" + agent.logText());
                try (HostConnection other = agent.connectReady()) {
                    assertAnswersPing(agent, other, 1);
                }
            }
            try (HostConnection other = agent.connectReady()) {
                assertAnswersPing(agent, other, 2);
            }
        }
    }

    private static byte[] lists(int count) {
        FrameEncoder encoder = new FrameEncoder();
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < count; i++) {
            all.writeBytes(encoder.encode(new Frame(100, MessageType.SESSION_LIST, Empty.INSTANCE)));
        }
        return all.toByteArray();
    }

    /** Reads a blocking socket only while asked to: the host that reads some answers, then stops. */
    private static final class RawReader {
        private final SocketChannel channel;
        private final FrameDecoder decoder = new FrameDecoder();
        private final ByteBuffer buf = ByteBuffer.allocate(64 * 1024);

        RawReader(SocketChannel channel) {
            this.channel = channel;
        }

        /** Reads until {@code count} frames of {@code type} came (frames of other types are skipped). */
        void await(MessageType type, int count) throws Exception {
            int seen = 0;
            while (true) {
                Frame f;
                while ((f = decoder.next()) != null) {
                    if (f.type() == type && ++seen == count) {
                        return;
                    }
                }
                buf.clear();
                if (channel.read(buf) < 0) {
                    throw new AssertionError("the agent closed the connection after " + seen + " " + type);
                }
                decoder.feed(buf.flip());
            }
        }
    }

    /** Waits until session {@code number} kept {@code bytes} of output. */
    private static void awaitKept(HostConnection host, long number, long bytes) throws Exception {
        long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
        long id = 1000;
        while (SessionsE2ETest.find(SessionsE2ETest.list(host, id++), number).retainedEnd() < bytes) {
            assertTrue(System.nanoTime() < deadline, "the session did not write its output");
            Thread.sleep(20);
        }
    }

    static void assertAnswersPing(AgentProcess agent, HostConnection host, long id) throws Exception {
        long pid = agent.pid();
        host.send(new Frame(id, MessageType.CORE_PING, Empty.INSTANCE));
        host.expect(id, MessageType.CORE_PONG);
        assertTrue(agent.isAlive() && agent.pid() == pid, "the agent did not survive:\n" + agent.logText());
    }

    private static ExecRequest request(String cmd, List<String> args) {
        return new ExecRequest(cmd, args, List.of(), null, null, false, 24, 80, List.of(), null);
    }

    /** Whether this build's decoder refuses a request over a limit (one arg more than 32768). */
    static boolean codecChecksRequestLimits() {
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(ByteBuffer.wrap(new FrameEncoder().encode(new Frame(1, MessageType.EXEC_REQUEST,
                request("true", Collections.nCopies(32_769, "a"))))));
        try {
            decoder.next();
            return false;
        } catch (ProtocolException e) {
            return e.kind() == ErrorKind.LIMIT_EXCEEDED;
        }
    }
}
