package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.RelayClientRange;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Relay flow control against a scripted agent whose core.ready lists relay_flow: a client that does
 * not read is paused at the agent, and the relay goes on serving the others instead of holding
 * everyone up; past the held mark it holds everyone up after all; nothing is lost either way. A
 * client's own notices for some of its ids go through unchanged; any other is refused.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelayFlowControlTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Ready READY = new Ready(11, 22, 33, "scripted", List.of(Ready.FEATURE_RELAY_FLOW));
    private static final IdRange SLOW = IdRange.slot(0);
    private static final long ID_A = SLOW.start() + 1;
    private static final long ID_B = IdRange.slot(1).start() + 1;
    private static final int FRAME_BYTES = 1024 * 1024;

    @TempDir
    Path dir;
    private ScriptedPort port;
    private RawClient agent;
    private final FrameEncoder encoder = new FrameEncoder();

    @BeforeEach
    void start() throws Exception {
        port = ScriptedPort.startReady(dir, WAIT, READY);
        agent = port.agent;
    }

    @AfterEach
    void stop() throws Exception {
        port.close();
    }

    private Frame notice(MessageType type) {
        return new Frame(0, type, new RelayClientRange(SLOW.start(), SLOW.endExclusive()));
    }

    /** Frames of 1 MiB for the slow client, written by another thread: the relay may stop reading. */
    private CompletableFuture<Void> write(byte[][] frames, int from, int to) {
        return CompletableFuture.runAsync(() -> {
            try {
                for (int i = from; i < to; i++) {
                    agent.sendRaw(encoder.encode(new Frame(ID_A, MessageType.EXEC_STDOUT, new ExecData(frames[i]))));
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static byte[][] frames(int count) {
        Random random = new Random(count);
        byte[][] frames = new byte[count][FRAME_BYTES];
        for (byte[] f : frames) {
            random.nextBytes(f);
        }
        return frames;
    }

    private static void assertAll(RawClient slow, byte[][] frames) throws Exception {
        for (int i = 0; i < frames.length; i++) {
            Frame f = slow.receive();
            assertEquals(ID_A, f.id(), "frame " + i);
            assertArrayEquals(frames[i], ((ExecData) f.payload()).data(), "frame " + i);
        }
    }

    private static Frame notice(MessageType type, long start, long endExclusive) {
        return new Frame(0, type, new RelayClientRange(start, endExclusive));
    }

    /**
     * {@code c}'s notice is refused on id 0 with {@code why}, and none of what it sent before reaches
     * the agent: the agent's next frame is a ping {@code c} sends after it.
     */
    private void assertRefused(RawClient c, Frame notice, String why) throws Exception {
        assertRefused(c, notice, "invalid_session", why);
    }

    private void assertRefused(RawClient c, Frame notice, String kind, String why) throws Exception {
        c.send(notice);
        Frame refusal = c.receive();
        assertEquals(0, refusal.id());
        assertEquals(MessageType.CORE_ERROR, refusal.type());
        ErrorPayload error = (ErrorPayload) refusal.payload();
        assertEquals(kind, error.kind());
        assertEquals(notice.type().wire(), error.offendingType());
        assertTrue(error.message().contains(why), error.message());
        Frame ping = new Frame(ID_A, MessageType.CORE_PING, Empty.INSTANCE);
        c.send(ping);
        assertEquals(ping, agent.receive(), "the agent got nothing before the ping");
    }

    @Test
    void aClientsNoticesForIdsOfItsOwnReachTheAgentUnchanged() throws Exception {
        try (RawClient c = port.readyClient()) {
            // one session's id (what AgentClient sends), and all but the last id of its range
            byte[] ping = encoder.encode(new Frame(ID_A, MessageType.CORE_PING, Empty.INSTANCE));
            for (Frame notice : List.of(
                    notice(MessageType.CORE_RELAY_CLIENT_PAUSED, ID_A, ID_A + 1),
                    notice(MessageType.CORE_RELAY_CLIENT_RESUMED, ID_A, ID_A + 1),
                    notice(MessageType.CORE_RELAY_CLIENT_PAUSED, SLOW.start(), SLOW.endExclusive() - 1))) {
                byte[] bytes = encoder.encode(notice);
                c.sendRaw(bytes);
                c.sendRaw(ping); // what the agent gets first if the notice was not forwarded
                assertArrayEquals(bytes, agent.receiveFrameBytes(), notice.toString());
                assertArrayEquals(ping, agent.receiveFrameBytes());
            }
        }
    }

    /** The agent's next frame is exactly {@code bytes}: the notice was forwarded (a ping follows as a marker). */
    private void assertForwarded(RawClient c, Frame notice) throws Exception {
        byte[] bytes = encoder.encode(notice);
        byte[] ping = encoder.encode(new Frame(ID_A, MessageType.CORE_PING, Empty.INSTANCE));
        c.sendRaw(bytes);
        c.sendRaw(ping);
        assertArrayEquals(bytes, agent.receiveFrameBytes(), notice.toString());
        assertArrayEquals(ping, agent.receiveFrameBytes());
    }

    @Test
    void aClientHoldsAtMostSevenRangesOfItsOwnSoThatTheAgentKeepsRoomForTheRelaysOwn() throws Exception {
        try (RawClient c = port.readyClient()) {
            MessageType paused = MessageType.CORE_RELAY_CLIENT_PAUSED;
            for (int k = 0; k < RelayClient.OWN_HOLDS; k++) {
                assertForwarded(c, notice(paused, ID_A + k, ID_A + k + 1));
            }
            assertForwarded(c, notice(paused, ID_A, ID_A + 1)); // held already: takes no more room
            Frame eighth = notice(paused, ID_A + RelayClient.OWN_HOLDS, ID_A + RelayClient.OWN_HOLDS + 1);
            assertRefused(c, eighth, "limit_exceeded", "already holds 7 ranges of its own");
            assertForwarded(c, notice(MessageType.CORE_RELAY_CLIENT_RESUMED, ID_A + 2, ID_A + 3));
            assertForwarded(c, eighth); // a resume gave one back
        }
    }

    @Test
    void aNewAgentHoldsNothingSoAClientsOwnHoldsCountFromNoneAgain() throws Exception {
        try (RawClient c = port.readyClient()) {
            MessageType paused = MessageType.CORE_RELAY_CLIENT_PAUSED;
            for (int k = 0; k < RelayClient.OWN_HOLDS; k++) {
                assertForwarded(c, notice(paused, ID_A + k, ID_A + k + 1));
            }
            Ready restarted = new Ready(12, 22, 33, "scripted", List.of(Ready.FEATURE_RELAY_FLOW)); // another boot time
            agent.send(new Frame(0, MessageType.CORE_READY, restarted));
            assertEquals(restarted, c.receive().payload());
            // seven ranges other than the old agent's: none of those counts any more
            long from = ID_A + RelayClient.OWN_HOLDS;
            for (int k = 0; k < RelayClient.OWN_HOLDS; k++) {
                assertForwarded(c, notice(paused, from + k, from + k + 1));
            }
            Frame eighth = notice(paused, ID_A, ID_A + 1);
            assertRefused(c, eighth, "limit_exceeded", "already holds 7 ranges of its own");
        }
    }

    @Test
    void aClientsNoticeForIdsNotItsOwnOrItsWholeRangeIsRefused() throws Exception {
        try (RawClient c = port.readyClient()) {
            MessageType paused = MessageType.CORE_RELAY_CLIENT_PAUSED;
            MessageType resumed = MessageType.CORE_RELAY_CLIENT_RESUMED;
            assertRefused(c, notice(paused, ID_B, ID_B + 1), "not inside this client's range " + SLOW);
            assertRefused(c, notice(resumed, SLOW.endExclusive() - 1, SLOW.endExclusive() + 1),
                    "not inside this client's range");
            assertRefused(c, notice(paused, 0, 1), "not inside this client's range");
            assertRefused(c, notice(paused, SLOW.start(), SLOW.endExclusive()), "whole range");
            assertRefused(c, notice(resumed, SLOW.start(), SLOW.endExclusive()), "whole range");
            assertRefused(c, notice(paused, ID_A, ID_A), "names no ids");
            // The encoder writes a reversed range; the relay's decoder refuses it.
            assertRefused(c, notice(resumed, ID_A + 1, ID_A), "not a range of u32 ids");
            // Other types on id 0 stay refused.
            assertRefused(c, new Frame(0, MessageType.CORE_PING, Empty.INSTANCE), "only core.shutdown");
        }
    }

    @Test
    void aClientsNoticeIsRefusedWhenTheAgentDoesNotHoldOutput() throws Exception {
        try (RawClient c = port.readyClient()) {
            Ready old = new Ready(44, 22, 33, "scripted"); // an agent restarted without relay_flow
            agent.send(new Frame(0, MessageType.CORE_READY, old));
            assertEquals(old, c.receive().payload());
            assertRefused(c, notice(MessageType.CORE_RELAY_CLIENT_PAUSED, ID_A, ID_A + 1),
                    "its core.ready does not list relay_flow");
        }
    }

    @Test
    void aClientThatDoesNotReadIsPausedAtTheAgentWhileTheOthersAreServed() throws Exception {
        try (RawClient slow = port.readyClient(); RawClient other = port.readyClient()) {
            // The scripted agent sends to the slow client until it is told to hold its output, as
            // agentd does; the pause must come before 32 MiB, long before any buffer could take them.
            byte[][] frames = frames(32);
            AtomicBoolean held = new AtomicBoolean();
            CompletableFuture<Integer> sent = CompletableFuture.supplyAsync(() -> {
                int n = 0;
                try {
                    while (n < frames.length && !held.get()) {
                        agent.sendRaw(encoder.encode(new Frame(ID_A, MessageType.EXEC_STDOUT, new ExecData(frames[n]))));
                        n++;
                    }
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
                return n;
            });
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_PAUSED), agent.receive(), "the slow client paused");
            held.set(true);
            int count = sent.get(10, TimeUnit.SECONDS); // the relay took what was in flight after the pause
            assertTrue(count < frames.length, "paused before the agent ran out of output: " + count);
            agent.send(new Frame(ID_B, MessageType.CORE_PONG, Empty.INSTANCE));
            assertEquals(new Frame(ID_B, MessageType.CORE_PONG, Empty.INSTANCE), other.receive(),
                    "the other client is served while the slow one does not read");
            assertAll(slow, Arrays.copyOf(frames, count));
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_RESUMED), agent.receive(), "resumed once drained");
        }
    }

    /**
     * A client paused at an agent that then restarts: the pause notice may wait in the port for the
     * new agent, which then holds the client's output too. The relay says the pause again to the new
     * agent and lifts it once the client drains. Before, it forgot the pause at the new ready: a
     * client that stayed between the marks was held by the new agent for good, never resumed.
     */
    @Test
    void aPauseOutlivesAnAgentRestartAndIsLiftedOnceTheClientDrains() throws Exception {
        try (RawClient slow = port.readyClient()) {
            byte[][] frames = frames(8);
            write(frames, 0, 8).get(10, TimeUnit.SECONDS);
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_PAUSED), agent.receive(), "paused");
            // The client takes some: its queue is between the marks (under the pause's, over the resume's).
            // Four of the eight: the socket's buffers may hold up to 2 MiB of the rest, and with five
            // read the queue fell under the resume mark before the restart on a loaded machine.
            assertAll(slow, Arrays.copyOf(frames, 4));
            Ready restarted = new Ready(12, 22, 33, "scripted", List.of(Ready.FEATURE_RELAY_FLOW));
            agent.send(new Frame(0, MessageType.CORE_READY, restarted));
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_PAUSED), agent.receive(),
                    "the new agent is told the client is paused");
            assertAll(slow, Arrays.copyOfRange(frames, 4, 8));
            assertEquals(restarted, slow.receive().payload());
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_RESUMED), agent.receive(), "resumed once drained");
        }
    }

    @Test
    void aPausedClientPastTheHeldMarkHoldsEveryoneUpAndLosesNothing() throws Exception {
        try (RawClient slow = port.readyClient(); RawClient other = port.readyClient()) {
            // An agent that goes on sending after the pause: the relay must not queue without bound.
            byte[][] frames = frames(40);
            CompletableFuture<Void> writer = write(frames, 0, 40);
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_PAUSED), agent.receive());
            Thread.sleep(1000);
            assertFalse(writer.isDone(), "past the held mark the relay stopped reading the agent");
            assertAll(slow, frames);
            writer.get(10, TimeUnit.SECONDS);
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_RESUMED), agent.receive());
            agent.send(new Frame(ID_B, MessageType.CORE_PONG, Empty.INSTANCE));
            assertEquals(new Frame(ID_B, MessageType.CORE_PONG, Empty.INSTANCE), other.receive());
        }
    }

    /**
     * Past the held mark a client holds everyone up, but not for ever: one that takes none of its
     * queue for 10 s is dropped, and the others are served again. Before, the relay read nothing
     * from the agent until that client read or left, which a client that never reads never does.
     */
    @Test
    void aClientHoldingEveryoneUpThatReadsNothingIsDroppedAfterTheLimit() throws Exception {
        try (RawClient slow = port.readyClient(); RawClient other = port.readyClient()) {
            byte[][] frames = frames(40);
            CompletableFuture<Void> writer = write(frames, 0, 40);
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_PAUSED), agent.receive());
            long start = System.nanoTime();
            writer.get(40, TimeUnit.SECONDS); // the relay reads the agent again once the slow client is gone
            assertTrue(System.nanoTime() - start >= FlowControl.HOLD_UP_LIMIT_NANOS - TimeUnit.SECONDS.toNanos(1),
                    "not dropped before the limit");
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_DISCONNECTED), agent.receive(), "the agent is told");
            assertEquals(new Frame(SLOW.endExclusive(), MessageType.CORE_PING, Empty.INSTANCE), agent.receive());
            agent.send(new Frame(ID_B, MessageType.CORE_PONG, Empty.INSTANCE));
            assertEquals(new Frame(ID_B, MessageType.CORE_PONG, Empty.INSTANCE), other.receive());
        }
    }

    /**
     * A client holding everyone up that takes 128 KiB every 2 s (under 1 MiB per 10 s) is dropped
     * 10 s after it began all the same. Before, each byte it took started its time over, and it
     * held everyone at its pace for as long as it liked.
     */
    @Test
    void aClientHoldingEveryoneUpThatReadsADripIsDroppedAfterTheLimit() throws Exception {
        try (RawClient slow = port.readyClient(); RawClient other = port.readyClient()) {
            byte[][] frames = frames(40);
            CompletableFuture<Void> writer = write(frames, 0, 40);
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_PAUSED), agent.receive());
            long start = System.nanoTime();
            Thread drip = new Thread(() -> {
                try {
                    ByteBuffer sip = ByteBuffer.allocate(128 * 1024);
                    while (true) {
                        Thread.sleep(2000);
                        sip.clear();
                        while (sip.hasRemaining()) { // 128 KiB each time: 640 KiB per 10 s
                            if (slow.channel().read(sip) < 0) {
                                return;
                            }
                        }
                    }
                } catch (Exception e) {
                    // dropped: the relay closed it
                }
            }, "drip");
            drip.setDaemon(true);
            drip.start();
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_DISCONNECTED), agent.receive(),
                    "dropped though it reads a little");
            long took = System.nanoTime() - start;
            assertTrue(took >= FlowControl.HOLD_UP_LIMIT_NANOS - TimeUnit.SECONDS.toNanos(1), "not before the limit");
            assertTrue(took < FlowControl.HOLD_UP_LIMIT_NANOS + TimeUnit.SECONDS.toNanos(8), "at the limit: "
                    + TimeUnit.NANOSECONDS.toMillis(took) + " ms");
            writer.get(20, TimeUnit.SECONDS); // the relay reads the agent again
            assertEquals(new Frame(SLOW.endExclusive(), MessageType.CORE_PING, Empty.INSTANCE), agent.receive());
            agent.send(new Frame(ID_B, MessageType.CORE_PONG, Empty.INSTANCE));
            assertEquals(new Frame(ID_B, MessageType.CORE_PONG, Empty.INSTANCE), other.receive());
        }
    }

    /**
     * A client that goes on sending requests without reading their answers is not read once its
     * queue passes the high mark: its requests would only add answers the agent cannot hold for it
     * (a pong, a stat), until its queue passed the held mark and held everyone up. Here the agent
     * answers each of its pings with 64 KiB, and the client sends its next ping once the previous
     * one was answered, as fast as the relay passes them on.
     */
    @Test
    void aClientThatSendsRequestsWithoutReadingTheAnswersDoesNotHoldUpTheOthers() throws Exception {
        try (RawClient slow = port.readyClient(); RawClient other = port.readyClient()) {
            byte[] answer = new byte[64 * 1024];
            java.util.concurrent.Semaphore answered = new java.util.concurrent.Semaphore(1);
            java.util.concurrent.atomic.AtomicInteger answers = new java.util.concurrent.atomic.AtomicInteger();
            Frame ping = new Frame(ID_A, MessageType.CORE_PING, Empty.INSTANCE);
            CompletableFuture<Void> agentSide = CompletableFuture.runAsync(() -> {
                try {
                    while (true) {
                        Frame f = agent.receive();
                        if (f.id() == ID_A) {
                            agent.send(new Frame(ID_A, MessageType.EXEC_STDOUT, new ExecData(answer)));
                            answers.incrementAndGet();
                            answered.release();
                        } else if (f.id() == ID_B) {
                            agent.send(new Frame(ID_B, MessageType.CORE_PONG, Empty.INSTANCE));
                        }
                    }
                } catch (Exception e) {
                    // the port closed at the test's end
                }
            });
            CompletableFuture<Void> requests = CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; i < 1000; i++) {
                        answered.acquire();
                        slow.send(ping);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            // Until the agent is left waiting for the next ping (the relay no longer reads the slow
            // client), or is held in a write (the relay no longer reads the agent).
            int seen = -1;
            while (answers.get() != seen) {
                seen = answers.get();
                Thread.sleep(1000);
            }
            CompletableFuture<Frame> pong = CompletableFuture.supplyAsync(() -> {
                try {
                    other.send(new Frame(ID_B, MessageType.CORE_PING, Empty.INSTANCE));
                    return other.receive();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertEquals(new Frame(ID_B, MessageType.CORE_PONG, Empty.INSTANCE), pong.get(10, TimeUnit.SECONDS),
                    "the other client is served after " + seen + " answers the slow client did not read");
            for (int i = 0; i < seen; i++) {
                assertArrayEquals(answer, ((ExecData) slow.receive().payload()).data(), "answer " + i);
            }
            assertFalse(agentSide.isDone());
            answered.release(1000); // the request thread runs on into the closed socket and ends
        }
    }

    /** {@code count} frames of 1 KiB of stdin on {@code id}, sent by another thread (the relay may stop reading). */
    private CompletableFuture<Void> flood(RawClient c, long id, int count) {
        return CompletableFuture.runAsync(() -> {
            try {
                for (int i = 0; i < count; i++) {
                    byte[] data = new byte[1000];
                    data[0] = (byte) i;
                    data[1] = (byte) (i >> 8);
                    c.send(new Frame(id, MessageType.EXEC_STDIN, new ExecData(data)));
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static int floodIndex(Frame f) {
        byte[] data = ((ExecData) f.payload()).data();
        return (data[0] & 0xff) | (data[1] & 0xff) << 8;
    }

    /**
     * The relay's pause for a client that does not read goes to the agent ahead of the frames another
     * client queued before it (a flood of requests the agent has not read yet), at the next frame's
     * start. Before, it went to the end of the port's one queue: the agent read it only after the
     * flood, and meanwhile sent the paused client's output on until its queue held everyone up.
     */
    @Test
    void thePauseForAClientGoesAheadOfAnotherClientsFloodOfRequests() throws Exception {
        try (RawClient slow = port.readyClient(); RawClient flooder = port.readyClient()) {
            int count = 3 * 1024; // 3 MiB: under the port queue's mark, so that the relay reads it all
            flood(flooder, ID_B, count).get(20, TimeUnit.SECONDS); // the agent reads none of it for now
            Thread.sleep(500); // the relay reads what the flooder's socket still holds
            write(frames(8), 0, 8).get(20, TimeUnit.SECONDS); // output for the slow client, which does not read
            int before = 0;
            Frame f;
            while ((f = agent.receive()).id() == ID_B) {
                assertEquals(before, floodIndex(f), "the flood in order");
                before++;
            }
            assertEquals(notice(MessageType.CORE_RELAY_CLIENT_PAUSED), f);
            assertTrue(before < count / 2, "the pause came after " + before + " of the flood's " + count
                    + " frames (what the port's socket held when it was queued, at most)");
            for (int i = before; i < count; i++) {
                f = agent.receive();
                assertEquals(ID_B, f.id(), "frame " + i + " of the flood: " + f);
                assertEquals(i & 0xffff, floodIndex(f), "the flood in order");
            }
        }
    }

    /**
     * A departure notice follows the departing client's own frames, but not the frames other clients
     * queued before it: the agent must see a client's requests before its departure, and a client
     * that leaves while another's flood waits for the agent is told at once (before, after the flood:
     * the agent sent output for a client gone for minutes).
     */
    @Test
    void aDepartureFollowsTheClientsOwnFramesButNotAnotherClientsFlood() throws Exception {
        RawClient early = port.readyClient();
        RawClient flooder = port.readyClient();
        RawClient late = port.readyClient();
        IdRange earlyRange = IdRange.slot(0);
        IdRange lateRange = IdRange.slot(2);
        long lateId = lateRange.start() + 1;
        try (flooder) {
            Frame earlyPing = new Frame(ID_A, MessageType.CORE_PING, Empty.INSTANCE);
            early.send(earlyPing);
            assertEquals(earlyPing, agent.receive());
            int count = 3 * 1024;
            flood(flooder, ID_B, count).get(20, TimeUnit.SECONDS); // the agent reads none of it for now
            Thread.sleep(500);
            Frame latePing = new Frame(lateId, MessageType.CORE_PING, Empty.INSTANCE);
            late.send(latePing); // queued behind the flood
            Thread.sleep(300);
            early.close();
            late.close();
            Thread.sleep(500); // the relay reads both ends
            List<Frame> got = new java.util.ArrayList<>();
            int flooded = 0;
            while (flooded < count || got.size() < count + 5) {
                Frame f = agent.receive();
                got.add(f);
                if (f.id() == ID_B) {
                    flooded++;
                }
            }
            int earlyLeft = got.indexOf(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED,
                    new RelayClientRange(earlyRange.start(), earlyRange.endExclusive())));
            int lastFlood = -1;
            for (int i = 0; i < got.size(); i++) {
                if (got.get(i).id() == ID_B) {
                    lastFlood = i;
                }
            }
            int lateSent = got.indexOf(latePing);
            int lateLeft = got.indexOf(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED,
                    new RelayClientRange(lateRange.start(), lateRange.endExclusive())));
            assertTrue(earlyLeft >= 0 && earlyLeft < count / 2, "the early client's departure, ahead of the flood: "
                    + earlyLeft + " of " + got.size());
            assertEquals(new Frame(earlyRange.endExclusive(), MessageType.CORE_PING, Empty.INSTANCE),
                    got.get(earlyLeft + 1), "the ping confirming it, right after");
            assertTrue(lateSent > lastFlood, "the late client's ping after the flood: " + lateSent + ", " + lastFlood);
            assertTrue(lateLeft > lateSent, "its departure after its ping: " + lateLeft + ", " + lateSent);
            assertEquals(new Frame(lateRange.endExclusive(), MessageType.CORE_PING, Empty.INSTANCE),
                    got.get(lateLeft + 1));
        }
    }

    @Test
    void aPausedClientThatLeavesEndsItsPauseWithTheDepartureNotice() throws Exception {
        RawClient slow = port.readyClient();
        byte[][] frames = frames(12);
        CompletableFuture<Void> writer = write(frames, 0, 12);
        assertEquals(notice(MessageType.CORE_RELAY_CLIENT_PAUSED), agent.receive());
        slow.close();
        assertEquals(notice(MessageType.CORE_RELAY_CLIENT_DISCONNECTED), agent.receive(), "no resume: it is gone");
        writer.get(10, TimeUnit.SECONDS);
    }
}
