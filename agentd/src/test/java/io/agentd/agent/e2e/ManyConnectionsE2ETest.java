package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionListResult;
import io.agentd.protocol.payload.SessionInfo;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.RelayClientRange;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.FrameEncoder;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One agent, many hosts at once on its unix socket: each connection has its own ids, core.ready,
 * sessions and backpressure; a host that leaves (or a relay client of it) takes only what it owned;
 * past --max-connections a host is told so and closed.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ManyConnectionsE2ETest {
    private static final Duration GONE_WITHIN = Duration.ofSeconds(5);

    @Test
    void aHostThatDoesNotReadStallsOnlyItsOwnSessions() throws Exception {
        try (AgentProcess agent = AgentProcess.start("two-hosts");
                HostConnection slow = agent.connectReady();
                HostConnection fast = agent.connectReady()) {
            slow.pauseReading();
            long flood = 16L << 20;
            slow.exec(1, ExecRequest.of("head", "-c", Long.toString(flood), "/dev/zero"));
            Thread.sleep(500); // the flood fills the slow host's queue and stops being read
            // The same id on the other connection is another session, served while the first is stalled.
            SessionResult r = fast.run(1, ExecRequest.of("seq", "1", "200000"));
            assertEquals(0, r.code());
            assertEquals(1288895, r.stdout().length, "all of seq's output");
            slow.resumeReading();
            SessionResult flooded = slow.collect(1, HostConnection.TIMEOUT);
            assertEquals(0, flooded.code());
            assertEquals(flood, flooded.stdout().length, "nothing of the stalled host's output lost");
        }
    }

    @Test
    void aHostLeavingKillsOnlyItsOwnSessions() throws Exception {
        try (AgentProcess agent = AgentProcess.start("host-leaves");
                HostConnection stays = agent.connectReady()) {
            long leaverPid;
            try (HostConnection leaves = agent.connectReady()) {
                leaverPid = started(leaves, 1, ExecRequest.of("sleep", "60"));
                long staysPid = started(stays, 1, ExecRequest.of("sleep", "60"));
                leaves.close();
                awaitGone(leaverPid);
                assertFalse(Procs.gone(staysPid), "the other host's session runs on");
                stays.send(new Frame(1, MessageType.EXEC_SIGNAL, new io.agentd.protocol.payload.ExecSignal(15)));
                assertEquals(143, stays.collect(1, HostConnection.TIMEOUT).code());
            }
        }
    }

    @Test
    void pastTheLimitAHostIsToldSoAndClosedAndAFreedPlaceIsServed() throws Exception {
        try (AgentProcess agent = AgentProcess.start("limit", "--max-connections", "2");
                HostConnection first = agent.connectReady();
                HostConnection second = agent.connectReady()) {
            try (HostConnection third = agent.connect()) {
                ErrorPayload e = third.expectError(0, "invalid_session");
                assertTrue(e.message().contains("--max-connections"), e.message());
                assertTrue(e.message().contains("2"), e.message());
                awaitDisconnected(third);
            }
            agent.awaitLog("refused a connection on unix:");
            first.send(new Frame(3, MessageType.CORE_PING, Empty.INSTANCE));
            first.expect(3, MessageType.CORE_PONG);
            first.close();
            long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
            while (true) { // the agent sees the close a little later: until then it is still full
                try (HostConnection next = agent.connect()) {
                    Frame f = next.next(0);
                    if (f.type() == MessageType.CORE_READY) {
                        next.send(new Frame(1, MessageType.CORE_PING, Empty.INSTANCE));
                        next.expect(1, MessageType.CORE_PONG);
                        break;
                    }
                    assertTrue(System.nanoTime() < deadline, "no place came free");
                    Thread.sleep(50);
                }
            }
        }
    }

    @Test
    void theRelayNoticeKillsExactlyTheSessionsOfItsRange() throws Exception {
        try (AgentProcess agent = AgentProcess.start("relay-kill");
                HostConnection relay = agent.connectReady();
                HostConnection other = agent.connectReady()) {
            long below = started(relay, 5, ExecRequest.of("sleep", "60"));
            long first = started(relay, 6, ExecRequest.of("sleep", "60"));
            long last = started(relay, 7, ExecRequest.of("sleep", "60"));
            long above = started(relay, 8, ExecRequest.of("sleep", "60"));
            long otherSix = started(other, 6, ExecRequest.of("sleep", "60"));
            relay.send(new Frame(9, MessageType.CORE_RELAY_CLIENT_DISCONNECTED, new RelayClientRange(6, 8)));
            relay.expectError(9, "invalid_session"); // the notice travels on id 0
            // An empty range, reversed (the decoder refuses it) or not (the agent does), in the same words.
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED, new RelayClientRange(8, 6)));
            String reversed = relay.expectError(0, "invalid_payload").message();
            assertTrue(reversed.endsWith("id_start 8 is not below id_end_exclusive 6: no ids"), reversed);
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED, new RelayClientRange(6, 6)));
            String empty = relay.expectError(0, "invalid_payload").message();
            assertTrue(empty.endsWith("id_start 6 is not below id_end_exclusive 6: no ids"), empty);
            for (long pid : new long[] {below, first, last, above, otherSix}) {
                assertFalse(Procs.gone(pid), "a refused notice ends nothing");
            }
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED, new RelayClientRange(6, 8)));
            awaitGone(first);
            awaitGone(last);
            for (long pid : new long[] {below, above, otherSix}) {
                assertFalse(Procs.gone(pid), "pid " + pid + " is not in the range");
            }
            assertTrue(relay.nothingMore(6, Duration.ofMillis(300)), "nothing sent for a client that is gone");
            assertTrue(relay.nothingMore(0, Duration.ofMillis(1)), "a notice has no reply");
            // The range's ids are free for the relay's next client.
            relay.forget(6);
            assertEquals(3, relay.run(6, ExecRequest.of("sh", "-c", "exit 3")).code());
        }
    }

    @Test
    void underKeepTheRelayNoticeLeavesTheSessionsRunningAndFreesTheirIds() throws Exception {
        try (AgentProcess agent = AgentProcess.start("relay-keep", "--on-host-loss", "keep");
                HostConnection relay = agent.connectReady()) {
            long kept = started(relay, 6, ExecRequest.of("sleep", "60"));
            relay.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED, new RelayClientRange(6, 7)));
            relay.send(new Frame(1, MessageType.CORE_PING, Empty.INSTANCE));
            relay.expect(1, MessageType.CORE_PONG); // the notice was handled
            relay.forget(6);
            assertEquals(4, relay.run(6, ExecRequest.of("sh", "-c", "exit 4")).code(), "id 6 is free");
            assertFalse(Procs.gone(kept), "kept running");
            agent.awaitLog("kept running without a host");
        }
    }

    @Test
    void underKeepASessionWhoseHostLeftRunsOnAndItsExitWaitsForAnAttach() throws Exception {
        try (AgentProcess agent = AgentProcess.start("socket-keep", "--on-host-loss", "keep");
                HostConnection next = agent.connectReady()) {
            long pid;
            try (HostConnection leaves = agent.connectReady()) {
                pid = started(leaves, 1, ExecRequest.of("sh", "-c", "sleep 1; echo bye; exit 3"));
            }
            Thread.sleep(300);
            assertFalse(Procs.gone(pid), "kept running after its host left");
            awaitGone(pid);
            next.send(new Frame(1, MessageType.CORE_PING, Empty.INSTANCE));
            next.expect(1, MessageType.CORE_PONG);
            assertTrue(next.nothingMore(1, Duration.ofMillis(200)), "nothing of the other host's session 1");
            // The exit is held for an attach (sessions extension), with the output kept since its host left.
            long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
            while (!agent.logText().contains("exited with no host attached") && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            next.send(new Frame(2, MessageType.SESSION_LIST, Empty.INSTANCE));
            SessionInfo kept = ((SessionListResult) next.expect(2, MessageType.SESSION_LIST_RESULT).payload())
                    .sessions().stream().filter(s -> s.pid() == pid).findFirst().orElseThrow();
            assertEquals(SessionInfo.EXITED, kept.state());
            next.send(new Frame(3, MessageType.SESSION_ATTACH, new SessionAttach(kept.session(), null, false)));
            next.expect(3, MessageType.SESSION_ATTACHED);
            assertEquals("bye\n", new String(((ExecData) next.expect(3, MessageType.EXEC_STDOUT).payload()).data()));
            assertEquals(3, ((ExecExited) next.expect(3, MessageType.EXEC_EXITED).payload()).code());
        }
    }

    @Test
    void shutdownFromAnyHostStopsTheWholeAgent() throws Exception {
        try (AgentProcess agent = AgentProcess.start("any-shutdown", "--grace-ms", "500");
                HostConnection a = agent.connectReady();
                HostConnection b = agent.connectReady()) {
            started(a, 1, ExecRequest.of("sleep", "60"));
            b.send(new Frame(0, MessageType.CORE_SHUTDOWN, null));
            assertEquals(143, a.collect(1, HostConnection.TIMEOUT).code(), "the other host's session ends too");
            assertEquals(0, agent.awaitExit(Duration.ofSeconds(30)));
        }
    }

    @Test
    void fiftyHostsAtOnceEachRunningTwentyCommandsGetEveryExitCodeRight() throws Exception {
        int hosts = 50;
        int execs = 20;
        try (AgentProcess agent = AgentProcess.start("fifty")) {
            ExecutorService pool = Executors.newFixedThreadPool(hosts);
            try {
                List<Future<Void>> done = new ArrayList<>();
                for (int h = 0; h < hosts; h++) {
                    int host = h;
                    done.add(pool.submit((Callable<Void>) () -> {
                        try (HostConnection c = agent.connectReady()) {
                            for (int i = 1; i <= execs; i++) {
                                c.exec(i, ExecRequest.of("sh", "-c", "echo " + host + "." + i + "; exit "
                                        + (host + i) % 256));
                            }
                            for (int i = 1; i <= execs; i++) {
                                SessionResult r = c.collect(i, Duration.ofSeconds(120));
                                assertEquals((host + i) % 256, r.code(), "host " + host + " exec " + i);
                                assertEquals(host + "." + i + "\n", r.out(), "host " + host + " exec " + i);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<Void> f : done) {
                    f.get(150, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    /**
     * 24 hosts each send a 3.5 MiB exec.request at once (over the request limits: refused bad_args
     * after the decoder held it whole) to an agent with a 64 MiB heap. A decoder per connection
     * holding one each would need 84 MiB and more; the shared large-frame budget makes the hosts
     * take turns, and every one is answered.
     */
    @Test
    void manyHostsSendingLargeFramesAtOnceTakeTurnsInsteadOfExhaustingTheHeap() throws Exception {
        int hosts = 24;
        String arg = "x".repeat(3584 * 1024);
        try (AgentProcess agent = AgentProcess.startWithJavaOpts("large-frames", "-Xmx64m")) {
            ExecutorService pool = Executors.newFixedThreadPool(hosts);
            try {
                List<Future<Void>> done = new ArrayList<>();
                for (int h = 0; h < hosts; h++) {
                    done.add(pool.submit((Callable<Void>) () -> {
                        try (HostConnection c = agent.connectReady()) {
                            c.exec(1, ExecRequest.of("true", arg));
                            assertEquals("bad_args", c.collect(1, Duration.ofSeconds(90)).failed().kind());
                            c.send(new Frame(2, MessageType.CORE_PING, Empty.INSTANCE));
                            c.expect(2, MessageType.CORE_PONG);
                        }
                        return null;
                    }));
                }
                for (Future<Void> f : done) {
                    f.get(120, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertTrue(agent.isAlive(), agent.logText());
        }
    }

    /**
     * 40 hosts that never read, each with a tty session whose output fills its queue to the mark, keep
     * the agent past its output budget (32 MiB) for good. Another host runs a tty session writing
     * without pause and reads its output steadily, so its own queue is never empty; it attaches a
     * detached session and then pings. Its attach is answered once it has read what was queued before
     * it, and the ping behind it too. The attach waited for an empty queue before: not answered in
     * 30 s, nor the ping behind it (a review's reproduction with 45 such hosts).
     */
    @Test
    void aReadingHostsAttachIsAnsweredWhileHostsThatDoNotReadKeepTheAgentPastItsBudget() throws Exception {
        try (AgentProcess agent = AgentProcess.start("attach-past-budget");
                HostConnection owner = agent.connectReady()) {
            long number = SessionsE2ETest.startDetached(owner, 1,
                    Requests.sh("echo x; sleep 120").withStartDetached(true));
            List<SocketChannel> hogs = new ArrayList<>();
            Thread reader = null;
            try {
                FrameEncoder encoder = new FrameEncoder();
                for (int i = 0; i < 40; i++) {
                    SocketChannel hog = agent.connectRaw();
                    hogs.add(hog);
                    // A tty's output is copied into the queue (a pipe's may stay in the pipe, spliced).
                    hog.write(ByteBuffer.wrap(encoder.encode(new Frame(1, MessageType.EXEC_REQUEST, Requests.tty("yes")))));
                }
                Thread.sleep(2000); // each hog's queue fills to its mark: 40 MiB together

                SocketChannel x = agent.connectRaw();
                hogs.add(x);
                CountDownLatch attached = new CountDownLatch(1);
                CountDownLatch pong = new CountDownLatch(1);
                AtomicLong read = new AtomicLong();
                reader = new Thread(() -> {
                    FrameDecoder decoder = new FrameDecoder();
                    ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
                    try {
                        while (true) {
                            buf.clear();
                            int n = x.read(buf);
                            if (n < 0) {
                                return;
                            }
                            read.addAndGet(n);
                            decoder.feed(buf.flip());
                            for (Frame f; (f = decoder.next()) != null; ) {
                                if (f.id() == 2 && f.type() == MessageType.SESSION_ATTACHED) {
                                    attached.countDown();
                                } else if (f.id() == 77 && f.type() == MessageType.CORE_PONG) {
                                    pong.countDown();
                                }
                            }
                            Thread.sleep(50); // about 1.3 MB/s: slower than its session writes
                        }
                    } catch (Exception e) {
                        // the connection closed at the end of the test
                    }
                });
                reader.setDaemon(true);
                reader.start();
                x.write(ByteBuffer.wrap(encoder.encode(new Frame(1, MessageType.EXEC_REQUEST, Requests.tty("yes")))));
                Thread.sleep(3000); // its queue hovers between half its mark and the mark
                long before = read.get();
                assertTrue(before > 1_000_000, "the reading host reads its session's output: " + before);

                long t0 = System.nanoTime();
                x.write(ByteBuffer.wrap(encoder.encode(new Frame(2, MessageType.SESSION_ATTACH,
                        new SessionAttach(number, null, false)))));
                x.write(ByteBuffer.wrap(encoder.encode(new Frame(77, MessageType.CORE_PING, Empty.INSTANCE))));
                assertTrue(attached.await(15, TimeUnit.SECONDS),
                        "the reading host's attach was not answered in 15 s; it read " + (read.get() - before)
                                + " bytes meanwhile\n" + agent.logText());
                assertTrue(pong.await(5, TimeUnit.SECONDS), "nor the ping after it");
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertTrue(agent.logText().contains("waits until this host has read"),
                        "the attach did wait (the agent was past its budget), answered after " + ms + " ms");
            } finally {
                for (SocketChannel hog : hogs) {
                    hog.close();
                }
                if (reader != null) {
                    reader.join(5000);
                }
            }
            assertTrue(agent.isAlive(), agent.logText());
        }
    }

    private static long started(HostConnection host, long id, ExecRequest request) throws Exception {
        host.exec(id, request);
        return ((ExecStarted) host.expect(id, MessageType.EXEC_STARTED).payload()).pid();
    }

    static void awaitGone(long pid) throws InterruptedException {
        long deadline = System.nanoTime() + GONE_WITHIN.toNanos();
        while (!Procs.gone(pid) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(Procs.gone(pid), "pid " + pid + " still there after " + GONE_WITHIN);
    }

    private static void awaitDisconnected(HostConnection host) throws InterruptedException {
        long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
        while (!host.disconnected() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(host.disconnected(), "the agent closed the connection");
    }
}
