package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.SessionDetached;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@link ExecSession#detach}: against a scripted agent for each answer, and end to end against agentd. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@ExtendWith(SharedAgent.class)
class SessionDetachClientTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void detachSendsTheRequestOnTheSessionsIdAndEndsTheSessionHereWithItsOutputWhole(@TempDir Path dir)
            throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir);
                AgentClient client = agent.connect(Ready.FEATURE_SESSIONS, Ready.FEATURE_SESSION_DETACH)) {
            assertTrue(client.agentDetachesSessions());
            ExecSession s = client.startWithStreams(ExecRequest.of("/bin/cat"));
            long id = agent.receive().id();
            agent.send(new Frame(id, MessageType.EXEC_STARTED, new ExecStarted(77, null)));
            agent.send(new Frame(id, MessageType.EXEC_STDOUT, new ExecData("abc".getBytes(StandardCharsets.UTF_8))));
            CompletableFuture<SessionDetached> detach = detachInBackground(s);
            Frame asked = agent.receive();
            assertEquals(new Frame(id, MessageType.SESSION_DETACH, Empty.INSTANCE), asked);
            agent.send(new Frame(id, MessageType.SESSION_DETACHED, new SessionDetached(12, 3)));
            SessionDetached d = detach.get(20, TimeUnit.SECONDS);
            assertEquals(new SessionDetached(12, 3), d);
            assertEquals(12L, s.sessionNumber());
            SessionDetachedException end = assertThrows(SessionDetachedException.class, () -> s.awaitExit(WAIT));
            assertEquals(d, end.detached());
            try (InputStream out = s.stdout()) {
                assertEquals("abc", new String(out.readAllBytes(), StandardCharsets.UTF_8),
                        "read to its end without an error: nothing is missing");
            }
            // Done here: a second detach, stdin or a signal is refused without a frame.
            assertThrows(AgentException.class, () -> s.signal(15));
            assertEquals(d, s.detach(WAIT), "asked again, the same answer");
            CompletableFuture<Frame> ping = client.call(MessageType.CORE_PING, Empty.INSTANCE);
            assertEquals(MessageType.CORE_PING, agent.receive().type(), "nothing was sent in between");
            ping.cancel(false);
        }
    }

    /**
     * A connection made ready by a pong (its core.ready was lost) has no ready to ask: the feature
     * is not known (it threw NullPointerException), and the next core.ready's list counts, as the
     * other features' do after an agent restart.
     */
    @Test
    void aConnectionReadyByAPongDoesNotKnowTheFeatureUntilACoreReadySaysIt(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir); AgentClient client = agent.connectByPong()) {
            assertEquals(null, client.ready(), "no core.ready came");
            assertFalse(client.agentDetachesSessions());
            agent.send(new Frame(0, MessageType.CORE_READY, new Ready(1, 2, 3, "scripted",
                    java.util.List.of(Ready.FEATURE_SESSIONS, Ready.FEATURE_SESSION_DETACH))));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!client.agentDetachesSessions() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(client.agentDetachesSessions(), "the core.ready that came later lists it");
            agent.send(new Frame(0, MessageType.CORE_READY, new Ready(9, 9, 9, "scripted",
                    java.util.List.of(Ready.FEATURE_SESSIONS))));
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (client.agentDetachesSessions() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertFalse(client.agentDetachesSessions(), "a restarted agent without it: the latest ready counts");
        }
    }

    /**
     * A detach whose thread is interrupted before it could send throws InterruptedException, and a
     * later detach asks the agent. Before, it failed with a plain AgentException and every later
     * detach of the session failed at once with it, never asking.
     */
    @Test
    void aDetachInterruptedBeforeItWasSentThrowsInterruptedAndALaterOneAsks(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir);
                AgentClient client = agent.connect(Ready.FEATURE_SESSIONS, Ready.FEATURE_SESSION_DETACH)) {
            ExecSession s = client.start(ExecRequest.of("/bin/sleep", "9"));
            long id = agent.receive().id();
            agent.send(new Frame(id, MessageType.EXEC_STARTED, new ExecStarted(77, 12L)));
            s.awaitStarted(WAIT);
            Thread.currentThread().interrupt();
            assertThrows(InterruptedException.class, () -> s.detach(WAIT));
            assertFalse(Thread.interrupted(), "the flag is cleared, as by any InterruptedException");
            CompletableFuture<SessionDetached> detach = detachInBackground(s);
            assertEquals(new Frame(id, MessageType.SESSION_DETACH, Empty.INSTANCE), agent.receive(), "nothing before it");
            agent.send(new Frame(id, MessageType.SESSION_DETACHED, new SessionDetached(12, 0)));
            assertEquals(new SessionDetached(12, 0), detach.get(20, TimeUnit.SECONDS));
        }
    }

    @Test
    void anAgentWithoutTheFeatureIsNeverSentTheRequest(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir); AgentClient client = agent.connect(Ready.FEATURE_SESSIONS)) {
            assertFalse(client.agentDetachesSessions());
            ExecSession s = client.start(ExecRequest.of("/bin/sleep", "9"));
            long id = agent.receive().id();
            agent.send(new Frame(id, MessageType.EXEC_STARTED, new ExecStarted(77, null)));
            s.awaitStarted(WAIT);
            assertThrows(UnsupportedOperationException.class, () -> s.detach(WAIT));
            CompletableFuture<Frame> ping = client.call(MessageType.CORE_PING, Empty.INSTANCE);
            assertEquals(MessageType.CORE_PING, agent.receive().type(), "nothing was sent in between");
            ping.cancel(false);
        }
    }

    @Test
    void anExitBeforeTheAnswerFailsTheDetachAndIsTheSessionsEnd(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir);
                AgentClient client = agent.connect(Ready.FEATURE_SESSIONS, Ready.FEATURE_SESSION_DETACH)) {
            ExecSession s = client.start(ExecRequest.of("/bin/true"));
            long id = agent.receive().id();
            agent.send(new Frame(id, MessageType.EXEC_STARTED, new ExecStarted(77, null)));
            CompletableFuture<Throwable> detach = detachFailure(s);
            assertEquals(MessageType.SESSION_DETACH, agent.receive().type());
            // The command ended as the detach crossed it: exited, then the agent's refusal of the detach.
            agent.send(new Frame(id, MessageType.EXEC_EXITED, new ExecExited(4, null, null)));
            agent.send(new Frame(id, MessageType.CORE_ERROR, new ErrorPayload("invalid_session", "no session " + id,
                    MessageType.SESSION_DETACH.wire())));
            Throwable failed = detach.get(20, TimeUnit.SECONDS);
            assertTrue(failed instanceof AgentException && failed.getMessage().contains("exited before"),
                    String.valueOf(failed));
            assertEquals(4, s.awaitExit(WAIT).code());
        }
    }

    @Test
    void aRefusedDetachLeavesTheSessionRunningHere(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir);
                AgentClient client = agent.connect(Ready.FEATURE_SESSIONS, Ready.FEATURE_SESSION_DETACH)) {
            ExecSession s = client.start(ExecRequest.of("/bin/sleep", "9"));
            long id = agent.receive().id();
            agent.send(new Frame(id, MessageType.EXEC_STARTED, new ExecStarted(77, null)));
            CompletableFuture<Throwable> detach = detachFailure(s);
            assertEquals(MessageType.SESSION_DETACH, agent.receive().type());
            agent.send(new Frame(id, MessageType.CORE_ERROR, new ErrorPayload("invalid_session", "no session " + id,
                    MessageType.SESSION_DETACH.wire())));
            assertTrue(detach.get(20, TimeUnit.SECONDS) instanceof AgentErrorException);
            assertFalse(s.isDone(), "the session goes on here");
            agent.send(new Frame(id, MessageType.EXEC_EXITED, new ExecExited(0, null, null)));
            assertEquals(0, s.awaitExit(WAIT).code());
        }
    }

    /**
     * A caller that asks again the moment its detach is refused sends a new request: the refusal
     * used to wake it before the question was forgotten, and a reader thread preempted in between
     * (a loaded machine) handed the second call the first one's refusal, with nothing sent.
     */
    @Test
    void aDetachAskedAgainAtTheRefusalIsSentAgain(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir);
                AgentClient client = agent.connect(Ready.FEATURE_SESSIONS, Ready.FEATURE_SESSION_DETACH)) {
            ExecSession s = client.start(ExecRequest.of("/bin/sleep", "9"));
            long id = agent.receive().id();
            agent.send(new Frame(id, MessageType.EXEC_STARTED, new ExecStarted(77, null)));
            int asked = 300;
            CompletableFuture<Integer> refusals = CompletableFuture.supplyAsync(() -> {
                int refused = 0;
                for (int i = 0; i < asked; i++) {
                    try {
                        s.detach(WAIT);
                    } catch (AgentErrorException e) {
                        refused++;
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
                try {
                    s.signal(15); // the end of the calls, seen in place of a detach that was never sent
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                return refused;
            });
            for (int i = 0; i < asked; i++) {
                assertEquals(MessageType.SESSION_DETACH, agent.receive().type(), "detach " + (i + 1) + " of " + asked
                        + " was not sent: the call met the refusal of the one before it");
                agent.send(new Frame(id, MessageType.CORE_ERROR, new ErrorPayload("invalid_session",
                        "session " + id + " cannot be detached", MessageType.SESSION_DETACH.wire())));
            }
            assertEquals(asked, refusals.get(20, TimeUnit.SECONDS));
            assertEquals(MessageType.EXEC_SIGNAL, agent.receive().type(), "nothing sent between");
            assertFalse(s.isDone(), "the session goes on here");
            agent.send(new Frame(id, MessageType.EXEC_EXITED, new ExecExited(0, null, null)));
            assertEquals(0, s.awaitExit(WAIT).code());
        }
    }

    @Test
    void againstAgentdTheDetachedSessionIsTakenUpByAnotherConnectionWhereItWasLeft(AgentdProcess agentd)
            throws Exception {
        SessionDetached d;
        try (AgentClient first = agentd.connect()) {
            ExecSession s = first.startWithStreams(ExecRequest.of("/bin/sh", "-c", "echo one; read x; echo two; exit 5"));
            InputStream out = s.stdout();
            assertEquals("one\n", new String(out.readNBytes(4), StandardCharsets.UTF_8));
            d = s.detach(WAIT);
            assertEquals(4, d.offset());
            assertEquals(-1, out.read(), "the stream ends at the detach");
        } // agentd's default policy kills a leaving host's sessions: this one is no longer the host's
        try (AgentClient second = agentd.connect()) {
            ExecSession s = second.attach(d.session(), d.offset());
            s.awaitStarted(WAIT);
            assertEquals(0, s.attached().missed());
            s.writeStdin("x\n".getBytes(StandardCharsets.UTF_8));
            Output o = s.nextOutput(WAIT);
            assertEquals("two\n", new String(o.data(), StandardCharsets.UTF_8));
            assertEquals(5, s.awaitExit(WAIT).code());
        }
    }

    /**
     * A host that closes its client is gone when close() returns: another connection attaches to the
     * session it held at once, never refused "attached to another host". (A JDK channel closed while
     * another thread is blocked reading it lets its socket go only when that read returns; the
     * client's reader waits in a Selector instead, whose close waits for that wait to end.)
     */
    @Test
    void againstAgentdASessionItsClosedClientHeldIsAttachedAtOnceByAnother(AgentdProcess agentd) throws Exception {
        for (int i = 0; i < 10; i++) {
            long number;
            AgentClient first = agentd.connect();
            ExecSession held = first.startWithStreams(
                    ExecRequest.of("/bin/sh", "-c", "read x; echo got $x").withDetachable(true));
            held.awaitStarted(WAIT);
            number = held.sessionNumber();
            first.close();
            try (AgentClient second = agentd.connect()) {
                ExecSession s = second.attach(number, 0L);
                s.awaitStarted(WAIT);
                s.writeStdin("it\n".getBytes(StandardCharsets.UTF_8));
                assertEquals("got it\n", new String(s.nextOutput(WAIT).data(), StandardCharsets.UTF_8));
                assertEquals(0, s.awaitExit(WAIT).code(), "try " + i);
            }
        }
    }

    /**
     * An attach to a session whose stdin its first host closed: a write fails at once, saying why,
     * instead of waiting for stdin credit that never comes (the agent's EPIPE after the attach).
     */
    @Test
    void againstAgentdAWriteToAnAttachedSessionWhoseStdinWasClosedFailsAtOnce(AgentdProcess agentd) throws Exception {
        long number;
        try (AgentClient first = agentd.connect()) {
            ExecSession held = first.startWithStreams(ExecRequest.of("sleep", "30").withDetachable(true));
            held.awaitStarted(WAIT);
            number = held.sessionNumber();
            held.closeStdin();
            assertEquals(0, held.detach(WAIT).offset());
        }
        try (AgentClient second = agentd.connect()) {
            ExecSession s = second.attach(number, 0L);
            s.awaitStarted(WAIT);
            CompletableFuture<Throwable> write = CompletableFuture.supplyAsync(() -> {
                try {
                    s.writeStdin(new byte[200_000]); // past the first window: it waits for credit
                    return null;
                } catch (Exception e) {
                    return e;
                }
            });
            Throwable failed = write.get(10, TimeUnit.SECONDS);
            assertTrue(failed instanceof StdinNotDeliveredException, String.valueOf(failed));
            assertTrue(failed.getMessage().contains("EPIPE"), failed.getMessage());
            s.signal(9);
            assertEquals(9, s.awaitExit(WAIT).signal());
        }
    }

    /**
     * A request no frame can hold (megabytes of arguments) fails as exec.failed bad_args (E2BIG), not
     * sent, as one past the agent's own limit fails there: the encoder's IllegalArgumentException
     * reached agentctl as an "internal error" (a review). The connection serves on.
     */
    @Test
    void aRequestNoFrameCanHoldFailsAsBadArgsWithoutBeingSent(@TempDir Path dir) throws Exception {
        try (ScriptedPeer agent = new ScriptedPeer(dir); AgentClient client = agent.connect()) {
            String[] args = new String[50];
            java.util.Arrays.fill(args, "a".repeat(100_000));
            ExecFailedException e = assertThrows(ExecFailedException.class,
                    () -> client.start(ExecRequest.of("true", args)));
            assertEquals(io.agentd.protocol.payload.FailureKind.BAD_ARGS, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("exceeds the frame limit 4194304"), e.getMessage());
            client.start(ExecRequest.of("true"));
            assertEquals(MessageType.EXEC_REQUEST, agent.receive().type(), "the next request is the first sent");
        }
    }

    /** Detaches on another thread; completes with what the detach threw (null when it returned). */
    private static CompletableFuture<SessionDetached> detachInBackground(ExecSession s) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return s.detach(WAIT);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static CompletableFuture<Throwable> detachFailure(ExecSession s) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                s.detach(WAIT);
                return null;
            } catch (Exception e) {
                return e;
            }
        });
    }
}
