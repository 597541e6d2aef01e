package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.testsupport.StoppedListener;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.RelayClientRange;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The relay between raw clients and a scripted agent: the test plays the VM's port (a unix socket
 * the relay connects to, as it does to QEMU's chardev) and records every byte the relay sends it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelayWithScriptedAgentTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Ready READY = new Ready(11, 22, 33, "scripted");

    @TempDir
    Path dir;
    private ScriptedPort port;
    private RawClient agent;
    private Relay relay;

    @BeforeEach
    void start() throws Exception {
        port = ScriptedPort.start(dir, WAIT);
        agent = port.agent;
        relay = port.relay;
    }

    @AfterEach
    void stop() throws Exception {
        port.close();
    }



    @Test
    void aCachedReadyReachesANewClientOnlyOnceTheAgentAnswersThePing() throws Exception {
        agent.send(new Frame(0, MessageType.CORE_READY, READY));
        relay.awaitAgentReady(WAIT);
        try (RawClient c = port.greetedClient()) {
            Frame probe = agent.receive();
            assertEquals(AgentFrameRouter.PROBE_ID, probe.id());
            c.channel().configureBlocking(false);
            Thread.sleep(300);
            assertEquals(0, c.channel().read(ByteBuffer.allocate(1)), "no ready while the agent has not answered");
            c.channel().configureBlocking(true);
            // the agent died and a new one says ready: that one is passed on, not the stale one
            Ready fresh = new Ready(77, 88, 99, "new agent");
            agent.send(new Frame(0, MessageType.CORE_READY, fresh));
            assertEquals(fresh, c.receive().payload());
        }
    }

    /**
     * The agent died with the relay's ping unanswered (over a virtio port the ping may die with it),
     * and a new one said ready: the next client is probed for anew, not left waiting for the answer
     * to a ping nobody will give.
     */
    @Test
    void aPingLostWithADeadAgentDoesNotKeepLaterClientsFromTheNewAgentsReady() throws Exception {
        agent.send(new Frame(0, MessageType.CORE_READY, READY));
        relay.awaitAgentReady(WAIT);
        Ready fresh = new Ready(77, 88, 99, "new agent");
        try (RawClient first = port.greetedClient()) {
            assertEquals(AgentFrameRouter.PROBE_ID, agent.receive().id()); // the old agent never answers it
            agent.send(new Frame(0, MessageType.CORE_READY, fresh));
            assertEquals(fresh, first.receive().payload());
        }
        port.receiveDeparture(IdRange.slot(0));
        try (RawClient next = port.greetedClient()) {
            CompletableFuture<Frame> probe = CompletableFuture.supplyAsync(() -> {
                try {
                    return agent.receive();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertEquals(AgentFrameRouter.PROBE_ID, probe.get(10, TimeUnit.SECONDS).id(),
                    "the new agent is asked, so that the new client gets its ready");
            agent.send(new Frame(AgentFrameRouter.PROBE_ID, MessageType.CORE_PONG, Empty.INSTANCE));
            assertEquals(fresh, next.receive().payload());
        }
    }

    @Test
    void theListenSocketIsTheRelayUsersAlone() throws Exception {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(relay.listenPath())));
    }

    @Test
    void aClientThatComesBeforeTheAgentIsReadyGetsItsGreetingAtOnceAndTheReadyWhenItComes() throws Exception {
        try (RawClient c = RawClient.connect(relay.listenPath())) {
            assertEquals(IdRange.slot(0), c.readGreeting());
            agent.send(new Frame(0, MessageType.CORE_READY, READY));
            assertEquals(READY, c.receive().payload());
            assertEquals(READY, relay.awaitAgentReady(WAIT));
        }
    }

    @Test
    void aClientThatLeavesIsAnnouncedToTheAgentWithItsRange() throws Exception {
        agent.send(new Frame(0, MessageType.CORE_READY, READY));
        RawClient first = port.readyClient();
        RawClient second = port.readyClient();
        second.close();
        port.receiveDeparture(IdRange.slot(1)); // the notice, then the ping whose answer frees the slot
        first.close();
        port.receiveDeparture(IdRange.slot(0));
    }

    /**
     * The agent's exit for a client that has left is dropped, as all its frames for that client are;
     * an agent that lists relay_exit_dropped is told, on the exit's id, so that it holds the exit for
     * an attach (it had taken it as delivered and collected the session). Its output is dropped
     * without a word, and an agent without the feature is told nothing.
     */
    @Test
    void anExitDroppedForAClientThatLeftIsToldToAnAgentThatHoldsIt() throws Exception {
        agent.send(new Frame(0, MessageType.CORE_READY, new Ready(11, 22, 33, "scripted",
                List.of(Ready.FEATURE_RELAY_EXIT_DROPPED))));
        RawClient gone = port.readyClient();
        RawClient stays = port.readyClient();
        long session = IdRange.slot(0).start() + 5;
        gone.close();
        port.receiveDeparture(IdRange.slot(0));
        agent.send(new Frame(session, MessageType.EXEC_STDOUT, new ExecData(new byte[] {'x'})));
        agent.send(new Frame(session, MessageType.EXEC_EXITED, new io.agentd.protocol.payload.ExecExited(7, null, null)));
        assertEquals(new Frame(session, MessageType.CORE_RELAY_EXIT_DROPPED, Empty.INSTANCE), agent.receive());

        agent.send(new Frame(0, MessageType.CORE_READY, READY)); // the same agent, without the feature now
        assertEquals(MessageType.CORE_READY, stays.receive().type());
        assertEquals(MessageType.CORE_PING, agent.receive().type(), "the ping for the range still waiting");
        agent.send(new Frame(session + 1, MessageType.EXEC_EXITED, new io.agentd.protocol.payload.ExecExited(7, null, null)));
        Frame after = new Frame(IdRange.slot(1).start() + 1, MessageType.CORE_PING, Empty.INSTANCE);
        stays.send(after);
        assertEquals(after, agent.receive(), "nothing told of the second exit");
    }

    /**
     * An exit still in the queue of a client that leaves (it had stopped reading, 3 MB of output
     * before the exit) is lost with the queue: the agent is told of it as of one that came after.
     */
    @Test
    void anExitLeftInTheQueueOfAClientThatLeavesIsToldToTheAgent() throws Exception {
        agent.send(new Frame(0, MessageType.CORE_READY, new Ready(11, 22, 33, "scripted",
                List.of(Ready.FEATURE_RELAY_EXIT_DROPPED))));
        RawClient gone = port.readyClient();
        long session = IdRange.slot(0).start() + 9;
        for (int i = 0; i < 48; i++) { // 3 MiB: under the relay's mark, over what the socket takes
            agent.send(new Frame(session, MessageType.EXEC_STDOUT, new ExecData(new byte[64 * 1024])));
        }
        agent.send(new Frame(session, MessageType.EXEC_EXITED, new io.agentd.protocol.payload.ExecExited(0, null, null)));
        // A second client's ready comes once the relay has the agent's answer to its probe, which
        // the agent sent after the exit: the exit is in the first client's queue by then.
        RawClient other = port.readyClient();
        gone.close();
        List<Frame> told = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            told.add(agent.receive());
        }
        assertTrue(told.contains(new Frame(session, MessageType.CORE_RELAY_EXIT_DROPPED, Empty.INSTANCE)), told.toString());
        assertTrue(told.contains(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED,
                new RelayClientRange(IdRange.slot(0).start(), IdRange.slot(0).endExclusive()))), told.toString());
        other.close();
    }

    /**
     * A client that leaves in the middle of a frame: the agent gets its whole frames, then the
     * notice, and never a byte of the cut one, so the port's stream stays in step for the others.
     */
    @Test
    void aClientThatLeavesInsideAFrameSendsTheAgentNoneOfIt() throws Exception {
        agent.send(new Frame(0, MessageType.CORE_READY, READY));
        RawClient gone = port.readyClient();
        RawClient stays = port.readyClient();
        long goneId = IdRange.slot(0).start() + 1;
        Frame whole = new Frame(goneId, MessageType.CORE_PING, Empty.INSTANCE);
        byte[] cut = new io.agentd.protocol.FrameEncoder().encode(
                new Frame(goneId + 1, MessageType.EXEC_STDIN, new ExecData(new byte[1000])));
        gone.send(whole);
        gone.sendRaw(java.util.Arrays.copyOf(cut, 500));
        gone.close();
        assertEquals(whole, agent.receive());
        port.receiveDeparture(IdRange.slot(0));
        Frame after = new Frame(IdRange.slot(1).start() + 1, MessageType.CORE_PING, Empty.INSTANCE);
        stays.send(after);
        assertEquals(after, agent.receive(), "the next frame is read whole: nothing of the cut one came");
    }

    /**
     * A client that left before another sent a frame is announced to the agent before that frame,
     * even when the relay finds both in one turn (the selector's order is arbitrary): an attach
     * right after the killed host's departure must not find the session still held. Repeated,
     * because whether both fall into one turn is up to the scheduler.
     */
    @Test
    void aClientsDepartureReachesTheAgentBeforeAFrameAnotherClientSentAfterIt() throws Exception {
        agent.send(new Frame(0, MessageType.CORE_READY, READY));
        relay.awaitAgentReady(WAIT);
        for (int round = 0; round < 30; round++) {
            RawClient gone = RawClient.connect(relay.listenPath());
            IdRange goneRange = gone.readGreeting();
            port.answerProbe();
            assertEquals(MessageType.CORE_READY, gone.receive().type());
            IdRange nextRange;
            try (RawClient next = RawClient.connect(relay.listenPath())) {
                nextRange = next.readGreeting();
                port.answerProbe();
                assertEquals(MessageType.CORE_READY, next.receive().type());

                gone.close();
                next.send(new Frame(nextRange.start() + 1, MessageType.CORE_PING, Empty.INSTANCE));
                Frame first = agent.receive();
                assertEquals(MessageType.CORE_RELAY_CLIENT_DISCONNECTED, first.type(), "round " + round + ": " + first);
                assertEquals(new RelayClientRange(goneRange.start(), goneRange.endExclusive()), first.payload());
                assertEquals(new Frame(goneRange.endExclusive(), MessageType.CORE_PING, Empty.INSTANCE), agent.receive(),
                        "the relay's ping whose answer would free the slot");
                assertEquals(new Frame(nextRange.start() + 1, MessageType.CORE_PING, Empty.INSTANCE), agent.receive());
            }
            port.receiveDeparture(nextRange);
        }
    }

    /**
     * Clients that closed before the next ones connected do not count against the 128: a batch of
     * departures followed at once by a batch of arrivals (the next jobs of a CI run) turns nobody
     * away. A newcomer waits for the agent to confirm a departure (the agent here answers the
     * relay's pings at once), not only for the relay to see it. Whether the relay sees a departure
     * or an arrival first is up to the selector and the scheduler, hence the rounds.
     */
    @Test
    void clientsThatLeftBeforeTheNextOnesCameDoNotFillTheRelay() throws Exception {
        port.answerPingsFromNowOn();
        for (int round = 0; round < 10; round++) {
            List<RawClient> left = connectAll(IdRange.SLOTS);
            for (RawClient c : left) {
                assertNotNull(c.readGreeting(), "round " + round + ": a client of the first batch was turned away");
            }
            for (RawClient c : left) {
                c.close();
            }
            List<RawClient> next = connectAll(IdRange.SLOTS);
            try {
                for (int i = 0; i < next.size(); i++) {
                    assertNotNull(next.get(i).readGreeting(), "round " + round + ": client " + i
                            + " of the next batch was turned away, though every earlier client had left");
                }
            } finally {
                for (RawClient c : next) {
                    c.close();
                }
            }
        }
    }

    private List<RawClient> connectAll(int n) throws IOException {
        List<RawClient> clients = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            clients.add(RawClient.connect(relay.listenPath()));
        }
        return clients;
    }

    @Test
    void aFreedSlotGoesToANewClientOnlyAfterTheOtherFreeOnes() throws Exception {
        RawClient a = RawClient.connect(relay.listenPath());
        assertEquals(IdRange.slot(0), a.readGreeting());
        a.close();
        port.receiveDeparture(IdRange.slot(0));
        agent.send(new Frame(IdRange.slot(0).endExclusive(), MessageType.CORE_PONG, Empty.INSTANCE)); // slot 0 is free
        try (RawClient b = RawClient.connect(relay.listenPath())) {
            assertEquals(IdRange.slot(1), b.readGreeting(), "slot 0 waits at the back of the free list");
        }
    }

    @Test
    void framesGoOnlyToTheClientOwningTheirIdAndAgentErrorsOnId0GoNowhere() throws Exception {
        agent.send(new Frame(0, MessageType.CORE_READY, READY));
        try (RawClient a = port.readyClient(); RawClient b = port.readyClient()) {
            long idOfB = IdRange.slot(1).start() + 5;
            // an error the agent could not attribute, an id nobody holds, then b's frame
            agent.send(new Frame(0, MessageType.CORE_ERROR, new ErrorPayload("malformed_message", "?", null)));
            agent.send(new Frame(IdRange.slot(7).start(), MessageType.CORE_PONG, Empty.INSTANCE));
            agent.send(new Frame(idOfB, MessageType.CORE_PONG, Empty.INSTANCE));
            assertEquals(new Frame(idOfB, MessageType.CORE_PONG, Empty.INSTANCE), b.receive());
            // a new ready (a restarted agent) reaches both; nothing else reached a before it
            Ready again = new Ready(99, 22, 33, "scripted");
            agent.send(new Frame(0, MessageType.CORE_READY, again));
            assertEquals(again, a.receive().payload());
            assertEquals(again, b.receive().payload());
        }
    }

    /**
     * A relay started where an earlier one died, on a VM whose agent kept that relay's sessions: the
     * agent's output for them, sent before it took the start's notices, is dropped until the ping
     * after the notices is answered, not given to the new client that holds those ids now. Before,
     * the first client, in slot 0, got the old slot-0 client's output.
     */
    @Test
    void outputTheAgentSentBeforeItTookTheStartsNoticesReachesNoNewClient(@TempDir Path other) throws Exception {
        try (ScriptedPort fresh = ScriptedPort.startUnanswered(other, WAIT, null)) {
            RawClient oldAgent = fresh.agent;
            long slot0 = IdRange.slot(0).start() + 1;
            try (RawClient c = greetedDuringTheStartsWait(fresh)) {
                oldAgent.send(new Frame(slot0, MessageType.EXEC_STDOUT,
                        new io.agentd.protocol.payload.ExecData("an earlier client's".getBytes())));
                oldAgent.send(new Frame(fresh.startBarrier, MessageType.CORE_PONG, Empty.INSTANCE));
                oldAgent.send(new Frame(slot0, MessageType.CORE_PONG, Empty.INSTANCE)); // an answer to c, after it
                assertEquals(new Frame(slot0, MessageType.CORE_PONG, Empty.INSTANCE), c.receive(),
                        "the first frame c gets on its ids is its own");
            }
        }
    }

    /**
     * A client of {@code fresh}, greeted after its agent's ready, with the ready and the probe
     * answered: the ping after the start's notices is still unanswered.
     */
    private static RawClient greetedDuringTheStartsWait(ScriptedPort fresh) throws Exception {
        fresh.agent.send(new Frame(0, MessageType.CORE_READY, READY));
        fresh.relay.awaitAgentReady(WAIT);
        RawClient c = fresh.greetedClient();
        try {
            fresh.answerProbe();
            assertEquals(MessageType.CORE_READY, c.receive().type());
            return c;
        } catch (Exception | Error e) {
            c.close();
            throw e;
        }
    }

    /**
     * An agent that never answers the ping after the start's notices (it lost them: a dead agent read
     * them, or the agent discarded what it had not read when the earlier relay's connection ended)
     * holds no client's output for good: ten seconds after its ready the wait ends.
     */
    @Test
    void aStartPingNeverAnsweredEndsTheWaitTenSecondsAfterTheReady(@TempDir Path other) throws Exception {
        try (ScriptedPort fresh = ScriptedPort.startUnanswered(other, WAIT, null)) {
            RawClient lost = fresh.agent;
            long slot0 = IdRange.slot(0).start() + 1;
            try (RawClient c = greetedDuringTheStartsWait(fresh)) {
                lost.send(new Frame(slot0, MessageType.CORE_PING, Empty.INSTANCE)); // still within the wait: dropped
                Thread.sleep(TimeUnit.NANOSECONDS.toMillis(StartBarrier.LIMIT_NANOS) + 1500);
                lost.send(new Frame(slot0, MessageType.CORE_PONG, Empty.INSTANCE));
                assertEquals(new Frame(slot0, MessageType.CORE_PONG, Empty.INSTANCE), c.receive(),
                        "after the limit the agent's frames reach their client again");
            }
        }
    }

    /**
     * An agent that lost the start's notices and ping but answers a client's request: the answer is
     * the client's (it sent the request after the ping, and the agent answers in the order it
     * reads), so the wait ends at once and it goes through. Before, it was dropped as an earlier
     * client's until the ten seconds were up, and a command waited for its exit for good.
     */
    @Test
    void anAnswerToAClientsFrameBeforeTheStartPingsEndsTheWaitAndReachesTheClient(@TempDir Path other) throws Exception {
        try (ScriptedPort fresh = ScriptedPort.startUnanswered(other, WAIT, null)) {
            RawClient lost = fresh.agent;
            long slot0 = IdRange.slot(0).start() + 1;
            try (RawClient c = greetedDuringTheStartsWait(fresh)) {
                lost.send(new Frame(slot0 + 1, MessageType.CORE_PONG, Empty.INSTANCE)); // no client's: dropped
                c.send(new Frame(slot0, MessageType.CORE_PING, Empty.INSTANCE));
                assertEquals(new Frame(slot0, MessageType.CORE_PING, Empty.INSTANCE), lost.receive());
                // An earlier relay's session on the same id, its output still on the way: no answer to
                // c's frame, so it ends nothing and reaches nobody.
                lost.send(new Frame(slot0, MessageType.EXEC_STDOUT,
                        new io.agentd.protocol.payload.ExecData("an earlier client's".getBytes())));
                lost.send(new Frame(slot0, MessageType.CORE_PONG, Empty.INSTANCE));
                assertEquals(new Frame(slot0, MessageType.CORE_PONG, Empty.INSTANCE), c.receive(),
                        "the answer to its own frame, at once (the first frame it gets on its ids)");
            }
        }
    }

    @Test
    void clientFramesInRangeAndShutdownGoToTheAgentUnchanged() throws Exception {
        try (RawClient a = port.greetedClient()) {
            Frame ping = new Frame(IdRange.slot(0).endExclusive() - 1, MessageType.CORE_PING, Empty.INSTANCE);
            a.send(ping);
            assertEquals(ping, agent.receive());
            a.send(new Frame(0, MessageType.CORE_SHUTDOWN, null));
            assertEquals(MessageType.CORE_SHUTDOWN, agent.receive().type());
        }
    }

    @Test
    void aClientFrameWithALengthNoFrameHasGetsMalformedMessageAndIsClosed() throws Exception {
        try (RawClient a = port.greetedClient()) {
            a.sendRaw(ByteBuffer.allocate(8).putInt(2).putInt(0).array());
            Frame error = a.receive();
            assertEquals(MessageType.CORE_ERROR, error.type());
            assertEquals("malformed_message", ((ErrorPayload) error.payload()).kind());
            assertTrue(a.atEof(), "the relay closed the connection");
            assertEquals(MessageType.CORE_RELAY_CLIENT_DISCONNECTED, agent.receive().type());
        }
    }

    @Test
    void aClientThatDoesNotReadHoldsUpTheAgentButLosesNothing() throws Exception {
        agent.send(new Frame(0, MessageType.CORE_READY, READY));
        try (RawClient slow = port.readyClient(); RawClient other = port.readyClient()) {
            long slowId = IdRange.slot(0).start() + 1;
            long otherId = IdRange.slot(1).start() + 1;
            Random random = new Random(3);
            byte[][] chunks = new byte[400][];
            // 400 x 64 KiB = 25 MiB for a client that reads nothing yet: far past the relay's mark
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; i < chunks.length; i++) {
                        chunks[i] = new byte[64 * 1024];
                        random.nextBytes(chunks[i]);
                        agent.send(new Frame(slowId, MessageType.EXEC_STDOUT, new ExecData(chunks[i])));
                    }
                    agent.send(new Frame(otherId, MessageType.CORE_PONG, Empty.INSTANCE));
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(1000);
            assertFalse(writer.isDone(), "the relay stopped reading the agent: its writes block");
            for (int i = 0; i < chunks.length; i++) {
                Frame f = slow.receive();
                assertEquals(slowId, f.id());
                assertArrayEquals(chunks[i], ((ExecData) f.payload()).data(), "chunk " + i);
            }
            writer.get(10, TimeUnit.SECONDS);
            assertEquals(new Frame(otherId, MessageType.CORE_PONG, Empty.INSTANCE), other.receive());
        }
    }

    @Test
    void aClientFloodingRefusedFramesWithoutReadingIsDroppedAndStallsNobody() throws Exception {
        agent.send(new Frame(0, MessageType.CORE_READY, READY));
        try (RawClient flooder = port.readyClient(); RawClient other = port.readyClient()) {
            byte[] outOfRange = new io.agentd.protocol.FrameEncoder().encode(
                    new Frame(IdRange.slot(9).start(), MessageType.CORE_PING, Empty.INSTANCE));
            // each ~20-byte frame earns a refusal of ~150: 2 MiB of them far exceed the relay's mark
            byte[] burst = new byte[outOfRange.length * 1000];
            for (int i = 0; i < 1000; i++) {
                System.arraycopy(outOfRange, 0, burst, i * outOfRange.length, outOfRange.length);
            }
            CompletableFuture<Void> flood = CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; i < 100; i++) {
                        flooder.sendRaw(burst);
                    }
                } catch (IOException dropped) {
                    // its refusals unread past the mark: the relay dropped it
                }
            });
            flood.get(30, TimeUnit.SECONDS);
            assertEquals(MessageType.CORE_RELAY_CLIENT_DISCONNECTED, agent.receive().type(), "the agent is told");
            // the agent is still read, and the other client served
            long otherId = IdRange.slot(1).start() + 3;
            agent.send(new Frame(otherId, MessageType.CORE_PONG, Empty.INSTANCE));
            assertEquals(new Frame(otherId, MessageType.CORE_PONG, Empty.INSTANCE), other.receive());
        }
    }

    @Test
    void theVmGoingAwayClosesEveryClientAndEndsTheRelay() throws Exception {
        try (RawClient a = port.greetedClient(); RawClient b = port.greetedClient()) {
            agent.close();
            assertTrue(a.atEof());
            assertTrue(b.atEof());
            Relay.Ending end = relay.awaitEnd(WAIT);
            assertTrue(end.portLost(), end.toString());
            assertTrue(end.reason().contains("closed"), end.reason());
            assertFalse(Files.exists(relay.listenPath()), "the listen socket is removed");
        }
    }

    @Test
    void aSecondRelayOnTheSamePathIsRefusedWhileTheFirstListens() {
        IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                () -> Relay.start(dir.resolve("port.sock"), relay.listenPath(), WAIT));
        assertTrue(e.getMessage().contains("in use"), e.getMessage());
    }

    /**
     * A port whose listener takes no connection and whose backlog is full (a VM's chardev with
     * other relays queued on it, a stopped VMM): connect(2) would wait for room with no limit.
     */
    @Test
    void aPortThatAcceptsNothingIsAClearErrorAfterTheWait() throws Exception {
        Path stopped = dir.resolve("stopped-port.sock");
        try (StoppedListener vm = StoppedListener.at(stopped)) {
            IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                    () -> Relay.start(stopped, dir.resolve("other.sock"), Duration.ofMillis(300)).close());
            assertTrue(e.getMessage().contains("accepted no connection within"), e.getMessage());
            assertFalse(Files.exists(dir.resolve("other.sock")));
        }
    }

    /** The listen path held by a relay that is stopped (SIGSTOP) with a full backlog: in use, said at once. */
    @Test
    void aListenPathWhoseListenerAcceptsNothingIsInUse() throws Exception {
        Path taken = dir.resolve("stopped-relay.sock");
        try (StoppedListener stoppedRelay = StoppedListener.at(taken)) {
            IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                    () -> Relay.start(dir.resolve("port.sock"), taken, WAIT).close());
            assertTrue(e.getMessage().contains("is in use"), e.getMessage());
        }
    }

    @Test
    void aPortThatNeverAppearsIsAClearErrorAfterTheWait() {
        IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                () -> Relay.start(dir.resolve("no-such-port.sock"), dir.resolve("other.sock"), Duration.ofMillis(300)));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("other.sock")));
    }
}
