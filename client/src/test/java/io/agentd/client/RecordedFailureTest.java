package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.FailureKind;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A failure the reader thread records (an exec that failed, a refused call, a session's end) is
 * thrown to each caller as a new exception of the same type and message, from the caller's own
 * stack, with the recorded one as its cause. It was thrown as the one recorded instance: its stack
 * was the reader thread's, and every waiter got (and could change) the same object.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RecordedFailureTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void eachWaiterOfAFailedExecGetsItsOwnException(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir); AgentClient client = peer.connect()) {
            ExecSession s = client.start(ExecRequest.of("nosuch"), output -> { });
            Frame request = peer.receive();
            peer.send(new Frame(request.id(), MessageType.EXEC_FAILED,
                    ExecFailed.of(FailureKind.NOT_FOUND, 2, "ENOENT", "no such file", "execve")));

            ExecFailedException first = assertThrows(ExecFailedException.class, () -> s.awaitStarted(WAIT));
            ExecFailedException second = assertThrows(ExecFailedException.class, () -> s.awaitExit(WAIT));

            assertNotSame(first, second, "one instance shared by every waiter");
            assertSame(first.getCause(), second.getCause(), "both caused by the one the reader recorded");
            ExecFailedException recorded = (ExecFailedException) first.getCause();
            assertEquals(recorded.getMessage(), first.getMessage());
            assertEquals(FailureKind.NOT_FOUND, first.kind());
            assertEquals("execve", first.stage());
            assertThrownBy(first, "awaitStarted");
            assertThrownBy(second, "awaitExit");
        }
    }

    @Test
    void aRefusedCallIsThrownFromItsCaller(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir); AgentClient client = peer.connect()) {
            Thread answer = new Thread(() -> {
                try {
                    Frame ping = peer.receive();
                    peer.send(new Frame(ping.id(), MessageType.CORE_ERROR,
                            new ErrorPayload("bad_request", "not now", "core.ping")));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            answer.start();
            AgentErrorException e = assertThrows(AgentErrorException.class, () -> client.ping(WAIT));
            answer.join();
            assertTrue(e.getCause() instanceof AgentErrorException, "the recorded one is its cause: " + e.getCause());
            assertEquals("bad_request", e.kindWire());
            assertEquals("core.ping", e.offendingType());
            assertThrownBy(e, "ping");
        }
    }

    @Test
    void everyWriterOfAClosedStdinGetsItsOwnException() throws Exception {
        StdinWindow window = StdinWindow.unlimited();
        ConnectionLostException why = new ConnectionLostException("the connection broke", null);
        window.close(why);

        ConnectionLostException first = assertThrows(ConnectionLostException.class, () -> window.acquire(1, Timeouts.NO_DEADLINE));
        ConnectionLostException second = assertThrows(ConnectionLostException.class, () -> window.acquire(1, Timeouts.NO_DEADLINE));

        assertNotSame(first, second);
        assertSame(why, first.getCause());
        assertEquals("the connection broke", first.getMessage());
        assertThrownBy(first, "acquire");
    }

    @Test
    void everyReaderOfAnOutputCutShortGetsItsOwnException() throws Exception {
        OutputPipe pipe = new OutputPipe(1024, () -> { }, () -> { });
        AgentRestartedException why = new AgentRestartedException("the agent restarted");
        pipe.finish(why);

        AgentRestartedException first = assertThrows(AgentRestartedException.class, () -> pipe.read(new byte[1]));
        AgentRestartedException second = assertThrows(AgentRestartedException.class, () -> pipe.read(new byte[1]));

        assertNotSame(first, second);
        assertSame(why, first.getCause());
        assertEquals("the agent restarted", first.getMessage());
        assertThrownBy(first, "read");
    }

    /** {@code e}'s stack has the caller's {@code method}: it was made there, not on the reader thread. */
    private static void assertThrownBy(Throwable e, String method) {
        assertTrue(Arrays.stream(e.getStackTrace()).anyMatch(f -> f.getMethodName().equals(method)
                && !f.getClassName().startsWith("java.")),
                method + " is not in the stack of " + e + ": " + Arrays.toString(e.getStackTrace()));
        assertTrue(Arrays.stream(e.getStackTrace()).anyMatch(f -> f.getClassName().equals(RecordedFailureTest.class.getName())
                || f.getClassName().startsWith(RecordedFailureTest.class.getName() + "$")),
                "thrown from the test's own stack: " + Arrays.toString(e.getStackTrace()));
    }

    /** Every type a caller catches stays what it was, with its details; the recorded one is the cause. */
    @Test
    void everyFailureTypeIsThrownAsItselfWithItsDetails() {
        java.util.List<AgentException> recorded = java.util.List.of(
                new AgentException("protocol broken"),
                new AgentErrorException(new ErrorPayload("bad_request", "why", "core.exec")),
                new AgentRestartedException("restarted"),
                AgentTimeoutException.notSent("nothing sent"),
                new ConnectionLostException("lost", new java.io.IOException("EOF")),
                new ConnectionRefusedException("r.sock", new ErrorPayload("busy", "full", null)),
                new ExecFailedException(ExecFailed.of(FailureKind.NOT_FOUND, 2, "ENOENT", "no", "execve")),
                new FeatureNotOfferedException("sessions", "no sessions"),
                new IdsExhaustedException("no ids"),
                new SessionDetachedException(new io.agentd.protocol.payload.SessionDetached(7, 100)),
                new StdinNotDeliveredException(3, new io.agentd.protocol.payload.ExecStdinError(105, "ENOBUFS", "full")),
                new io.agentd.client.fs.GuestFileException("/x", 2, "ENOENT", "no such file"),
                new io.agentd.client.fs.ChecksumMismatchException("/x", "aa", "bb"));
        for (AgentException r : recorded) {
            AgentException thrown = r.forCaller();
            assertNotSame(r, thrown);
            assertEquals(r.getClass(), thrown.getClass());
            assertEquals(r.getMessage(), thrown.getMessage());
            assertSame(r, thrown.getCause());
        }
        assertTrue(((AgentTimeoutException) recorded.get(3)).forCaller().nothingSent());
        assertEquals("core.exec", ((AgentErrorException) recorded.get(1)).forCaller().offendingType());
        assertEquals("busy", ((ConnectionRefusedException) recorded.get(5)).forCaller().error().kind());
        assertEquals(2, ((ExecFailedException) recorded.get(6)).forCaller().errno());
        assertEquals("sessions", ((FeatureNotOfferedException) recorded.get(7)).forCaller().feature());
        assertEquals(100, ((SessionDetachedException) recorded.get(9)).forCaller().detached().offset());
        assertEquals("ENOBUFS", ((StdinNotDeliveredException) recorded.get(10)).forCaller().errnoName());
        assertEquals(io.agentd.client.fs.GuestFileException.Kind.NOT_FOUND,
                ((io.agentd.client.fs.GuestFileException) recorded.get(11)).forCaller().kind());
    }
}
