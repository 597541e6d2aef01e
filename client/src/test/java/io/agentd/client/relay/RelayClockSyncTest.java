package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ClockSync;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.Ready;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guest's clock stands still while QEMU has the VM stopped (and is wherever a snapshot left it),
 * and nothing in the guest sets it again: the relay sends the agent core.clock.sync with the host's
 * time on id 0 after each core.ready and, with QMP, at each RESUME; its time is read as its write
 * begins; a refusal of it is not a client's; and a client's own clock.sync on id 0 goes through.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelayClockSyncTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Ready READY = new Ready(11, 22, 33, "scripted");

    @TempDir
    Path dir;
    private FakeQmp qmp;
    private ScriptedPort port;
    private RawClient agent;
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();
    private PrintStream stderr;

    @BeforeEach
    void start() throws Exception {
        stderr = System.err;
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        qmp = FakeQmp.start(dir.resolve("qmp.sock"));
        port = ScriptedPort.start(dir, WAIT, qmp.path);
        agent = port.agent;
        qmp.awaitNegotiated(WAIT);
    }

    @AfterEach
    void stop() throws Exception {
        try {
            port.close();
            qmp.close();
        } finally {
            System.setErr(stderr);
        }
    }

    private interface Receive {
        Frame get() throws Exception;
    }

    /** The next frame {@code r} reads, within 5 s (an AssertionError, not the test's timeout, when none comes). */
    private static Frame within(Receive r) throws Exception {
        CompletableFuture<Frame> f = CompletableFuture.supplyAsync(() -> {
            try {
                return r.get();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            return f.get(5, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("no frame within 5 s", e);
        }
    }

    private static long now() {
        return ClockSync.hostNow().unixTimeNanos();
    }

    /** The agent's next frame is the relay's clock.sync on id 0, with a host time from {@code from} to its receipt. */
    private long assertClockSync(long from, String what) throws Exception {
        Frame f = within(agent::receiveAny);
        long to = now();
        assertEquals(MessageType.CORE_CLOCK_SYNC, f.type(), what + ": " + f);
        assertEquals(0, f.id(), what + ": on the control channel");
        long sent = ((ClockSync) f.payload()).unixTimeNanos();
        assertTrue(sent >= from && sent <= to, what + ": the host's time as it was sent, " + from + " <= " + sent
                + " <= " + to);
        return sent;
    }

    /** A ping of the client's on {@code id}, which the agent gets next (nothing of the relay's before it). */
    private void assertNextAtAgentIsPing(RawClient c, long id, String what) throws Exception {
        c.send(new Frame(id, MessageType.CORE_PING, Empty.INSTANCE));
        assertEquals(new Frame(id, MessageType.CORE_PING, Empty.INSTANCE), within(agent::receiveAny), what);
    }

    private record Client(RawClient raw, IdRange range) {}

    /** The agent says ready, the relay's sync follows it, then a client connects and is greeted. */
    private Client afterTheAgentsReadyAndSync() throws Exception {
        agent.send(new Frame(0, MessageType.CORE_READY, READY));
        assertClockSync(0, "after the ready");
        return readyClient();
    }

    private Client readyClient() throws Exception {
        RawClient c = RawClient.connect(port.relay.listenPath());
        IdRange range = c.readGreeting();
        port.answerProbe();
        assertEquals(MessageType.CORE_READY, c.receive().type());
        return new Client(c, range);
    }

    @Test
    void eachCoreReadyIsFollowedByTheHostsTime() throws Exception {
        long before = now();
        agent.send(new Frame(0, MessageType.CORE_READY, READY));
        assertClockSync(before, "after the first ready");
        Client c = readyClient();
        long id = c.range().start() + 1;
        assertNextAtAgentIsPing(c.raw(), id, "one sync per ready: nothing more");

        before = now();
        agent.send(new Frame(0, MessageType.CORE_READY, READY)); // the same agent again: the port was reopened
        assertEquals(MessageType.CORE_READY, within(c.raw()::receive).type());
        assertClockSync(before, "after the same agent's ready again");

        before = now();
        agent.send(new Frame(0, MessageType.CORE_READY, new Ready(44, 55, 66, "restarted")));
        assertEquals(MessageType.CORE_READY, within(c.raw()::receive).type());
        assertClockSync(before, "after a restarted agent's ready");
        assertNextAtAgentIsPing(c.raw(), id + 1, "nothing more");
        c.raw().close();
    }

    @Test
    void qemusResumeSendsTheHostsTimeWithOneLogLine() throws Exception {
        Client c = afterTheAgentsReadyAndSync();
        qmp.runState(false);
        Thread.sleep(200);
        assertNextAtAgentIsPing(c.raw(), c.range().start() + 1, "STOP sends nothing");
        long before = now();
        qmp.runState(true);
        assertClockSync(before, "at RESUME");
        assertNextAtAgentIsPing(c.raw(), c.range().start() + 2, "one sync per RESUME");
        List<String> lines = log.toString(StandardCharsets.UTF_8).lines()
                .filter(l -> l.contains("clock.sync sent to the agent")).toList();
        assertEquals(2, lines.size(), "a line per sync: " + lines);
        assertTrue(lines.get(0).contains("INFO") && lines.get(0).contains("after its core.ready"), lines.get(0));
        assertTrue(lines.get(1).contains("QEMU resumed the VM"), lines.get(1));
        c.raw().close();
    }

    /** No agent has said ready: nothing is sent at RESUME (nobody would read it now); the ready brings one. */
    @Test
    void aResumeBeforeAnyReadySendsNothingTheReadyDoes() throws Exception {
        qmp.runState(true);
        Thread.sleep(300);
        long before = now();
        agent.send(new Frame(0, MessageType.CORE_READY, READY));
        assertClockSync(before, "the ready's, not the RESUME's of before");
        Client c = readyClient();
        assertNextAtAgentIsPing(c.raw(), c.range().start() + 1, "only one");
        c.raw().close();
    }

    /**
     * The sync waits for the rest of a client's frame being written (the port takes frames whole),
     * then goes ahead of the client frames queued after it, with the host's time as it went, not as
     * the RESUME came: it waited 1.5 s here, which would have set the guest's clock 1.5 s back.
     */
    @Test
    void theTimeSentIsTheTimeOfTheWriteNotOfTheResume() throws Exception {
        Client c = afterTheAgentsReadyAndSync();
        long id = c.range().start() + 1;
        byte[] data = new byte[3 << 20]; // far more than the port socket's buffers take: its write waits for the agent
        c.raw().send(new Frame(id, MessageType.EXEC_STDIN, new ExecData(data)));
        Thread.sleep(500); // the relay has begun to write it
        long resumedAt = now();
        qmp.runState(true);
        Thread.sleep(200);
        c.raw().send(new Frame(id + 1, MessageType.CORE_PING, Empty.INSTANCE)); // queued behind the large frame
        Thread.sleep(1300);
        long drainedFrom = now();
        Frame large = within(agent::receiveAny);
        assertEquals(MessageType.EXEC_STDIN, large.type(), "the frame begun first goes on whole: " + large);
        long sent = assertClockSync(drainedFrom, "then the sync, its time read as it went");
        assertTrue(sent - resumedAt > TimeUnit.MILLISECONDS.toNanos(1500), "not the RESUME's time");
        assertEquals(new Frame(id + 1, MessageType.CORE_PING, Empty.INSTANCE), within(agent::receiveAny),
                "then the client frame queued after the RESUME");
        c.raw().close();
    }

    /** The agent answers a clock.sync with nothing, or a refusal on id 0: the relay keeps that from every client. */
    @Test
    void theAgentsRefusalOfTheRelaysSyncGoesToNoClient() throws Exception {
        Client c = afterTheAgentsReadyAndSync();
        agent.send(new Frame(0, MessageType.CORE_ERROR, new ErrorPayload(ErrorKind.INVALID_PAYLOAD.wire(),
                "unix_time_nanos beyond year 2262", MessageType.CORE_CLOCK_SYNC.wire())));
        long id = c.range().start() + 1;
        assertNextAtAgentIsPing(c.raw(), id, "the client goes on");
        agent.send(new Frame(id, MessageType.CORE_PONG, Empty.INSTANCE));
        assertEquals(new Frame(id, MessageType.CORE_PONG, Empty.INSTANCE), within(c.raw()::receive),
                "its pong is the next frame it gets: no core.error before it");
        c.raw().close();
    }

    /**
     * A client may set the guest's clock itself (AgentClient.syncClock, agentctl clock-sync): its
     * core.clock.sync on id 0 goes to the agent as it is, as core.shutdown does, where it was
     * refused (only core.shutdown and the flow notices passed there).
     */
    @Test
    void aClientsOwnClockSyncOnIdZeroGoesToTheAgent() throws Exception {
        Client c = afterTheAgentsReadyAndSync();
        Frame sync = new Frame(0, MessageType.CORE_CLOCK_SYNC, new ClockSync(1_234_567_890_123_456_789L));
        c.raw().send(sync);
        assertEquals(sync, within(agent::receiveAny), "forwarded as it was sent");
        long id = c.range().start() + 1;
        assertNextAtAgentIsPing(c.raw(), id, "nothing else");
        agent.send(new Frame(id, MessageType.CORE_PONG, Empty.INSTANCE));
        assertEquals(new Frame(id, MessageType.CORE_PONG, Empty.INSTANCE), within(c.raw()::receive), "and no refusal came");
        c.raw().close();
    }
}
