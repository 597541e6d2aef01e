package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.fs.GuestFiles;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Ready;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A call with a timeout does not wait for ever to send when the agent stops reading: it times out
 * with nothing sent while another write holds the connection, and a frame of its own that the agent
 * stopped taking in the middle ends the connection (nothing can follow a cut frame). The peer here
 * is a script that reads only when told.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SendDeadlineTest {
    private static final Duration BOUND = Duration.ofSeconds(10);

    @Test
    void callsWithATimeoutGiveUpBehindAWriterTheAgentHoldsUpAndTheConnectionGoesOn(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir)) {
            AgentClient client = peer.connect("sessions", "fs_ext", Ready.FEATURE_SESSION_DETACH); // no stdin_window:
            // writes never wait for credit
            ExecSession s = client.start(ExecRequest.of("cat"));
            assertEquals(MessageType.EXEC_REQUEST, peer.receive().type());
            CompletableFuture<Throwable> writerEnded = new CompletableFuture<>();
            Thread writer = new Thread(() -> {
                try {
                    s.writeStdin(new byte[64 << 20]); // far more than the socket buffers hold; no deadline
                    writerEnded.complete(null);
                } catch (Throwable t) {
                    writerEnded.complete(t);
                }
            });
            writer.start();
            BlockedWriteTest.waitUntilBlockedWriting(writer);

            Duration timeout = Duration.ofMillis(300);
            TimeoutException ping = assertTimeoutPreemptively(BOUND,
                    () -> assertThrows(TimeoutException.class, () -> client.ping(timeout)));
            assertTrue(ping.getMessage().startsWith("no core.pong within 300ms: nothing was sent"), ping.getMessage());
            assertTimeoutPreemptively(BOUND, () -> assertThrows(TimeoutException.class, () -> client.touch(timeout)));
            assertTimeoutPreemptively(BOUND, () -> assertThrows(TimeoutException.class, () -> client.listSessions(timeout)));
            GuestFiles files = client.files().withTimeout(timeout);
            AgentTimeoutException stat = assertTimeoutPreemptively(BOUND,
                    () -> assertThrows(AgentTimeoutException.class, () -> files.stat("/etc/hostname")));
            assertTrue(stat.getMessage().contains("nothing was sent"), stat.getMessage());
            TimeoutException run = assertTimeoutPreemptively(BOUND,
                    () -> assertThrows(TimeoutException.class, () -> client.run(ExecRequest.of("true"), timeout)));
            assertTrue(run.getMessage().startsWith("the command was not started within 300ms"), run.getMessage());
            TimeoutException detach = assertTimeoutPreemptively(BOUND,
                    () -> assertThrows(TimeoutException.class, () -> s.detach(timeout)));
            assertTrue(detach.getMessage().contains("nothing was sent"), detach.getMessage());
            assertThrows(TimeoutException.class, () -> s.detach(timeout), "a detach that sent nothing can be asked again");

            assertTrue(client.isOpen(), "nothing was cut: the connection goes on");
            assertFalse(writerEnded.isDone(), "the writer without a deadline still waits: " + writerEnded.getNow(null));
            client.close();
            assertTrue(writerEnded.get(10, TimeUnit.SECONDS) instanceof ConnectionLostException);
        }
    }

    @Test
    void aRunThatTimesOutReturnsWhileAnotherWriteHoldsTheConnectionAndItsKillGoesOutLater(@TempDir Path dir)
            throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir)) {
            AgentClient client = peer.connect();
            ExecSession cat = client.start(ExecRequest.of("cat"));
            assertEquals(MessageType.EXEC_REQUEST, peer.receive().type());
            CompletableFuture<Throwable> run = CompletableFuture.supplyAsync(() -> {
                try {
                    client.run(ExecRequest.of("sleep", "60"), Duration.ofMillis(1500));
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            });
            Frame request = peer.receive(); // sent with its end of input: the command reads nothing
            assertEquals(MessageType.EXEC_REQUEST, request.type());
            assertEquals(MessageType.EXEC_STDIN, peer.receive().type());
            Thread writer = new Thread(() -> {
                try {
                    cat.writeStdin(new byte[8 << 20]); // more than the socket buffers hold, little to read back
                } catch (Exception e) {
                    // ends with the connection
                }
            });
            writer.start();
            BlockedWriteTest.waitUntilBlockedWriting(writer);

            Throwable t = run.get(BOUND.toSeconds(), TimeUnit.SECONDS);
            assertTrue(t instanceof TimeoutException && t.getMessage().contains("no exit within"), String.valueOf(t));
            assertTrue(client.isOpen());
            Frame f;
            do { // the agent reads again: cat's stdin, and the kill that waited for room
                f = peer.receive();
            } while (f.type() == MessageType.EXEC_STDIN && f.id() == cat.id());
            assertEquals(MessageType.EXEC_SIGNAL, f.type());
            assertEquals(request.id(), f.id());
            client.close(); // ends the rest of cat's stdin
            writer.join(10_000);
        }
    }

    /**
     * The call's time runs out in the middle of a frame while the agent, slow, still reads: the
     * frame is finished (the agent took more within the grace), the call times out at the next
     * frame, and the connection goes on. Before, the frame was cut and the connection ended.
     */
    @Test
    void aFrameBegunBeforeTheDeadlineIsFinishedWhileTheAgentStillReads(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir)) {
            AgentClient client = peer.connect(); // no stdin_window: run writes its stdin at once
            CompletableFuture<Throwable> run = CompletableFuture.supplyAsync(() -> {
                try {
                    client.run(ExecRequest.of("cat"), new byte[8 << 20], Duration.ofMillis(500));
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            });
            Frame request = peer.receive();
            assertEquals(MessageType.EXEC_REQUEST, request.type());
            Thread.sleep(700); // past the deadline, within the grace of the frame the socket cut
            Frame f;
            long stdinBytes = 0;
            while ((f = peer.receive()).type() == MessageType.EXEC_STDIN) { // each whole, or receive() throws
                stdinBytes += ((ExecData) f.payload()).data().length;
            }
            assertEquals(MessageType.EXEC_SIGNAL, f.type(), "the kill after the timeout comes after whole frames");
            assertEquals(request.id(), f.id());
            Throwable t = run.get(BOUND.toSeconds(), TimeUnit.SECONDS);
            assertTrue(t instanceof TimeoutException && t.getMessage().contains("stdin not taken within 500ms"),
                    String.valueOf(t));
            assertTrue(stdinBytes > 0 && stdinBytes < 8 << 20, "stopped at the deadline: " + stdinBytes);
            assertTrue(client.isOpen(), "nothing was cut");
            CompletableFuture<Duration> pong = CompletableFuture.supplyAsync(() -> {
                try {
                    return client.ping(BOUND);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Frame ping = peer.receive();
            assertEquals(MessageType.CORE_PING, ping.type(), "the stream goes on whole");
            peer.send(new Frame(ping.id(), MessageType.CORE_PONG, Empty.INSTANCE));
            pong.get(BOUND.toSeconds(), TimeUnit.SECONDS);
        }
    }

    @Test
    void aFrameTheAgentStopsTakingInTheMiddleEndsTheConnectionAtTheDeadline(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir)) {
            AgentClient client = peer.connect(); // no stdin_window: run writes its stdin at once
            ConnectionLostException e = assertTimeoutPreemptively(BOUND, () -> assertThrows(ConnectionLostException.class,
                    () -> client.run(ExecRequest.of("cat"), new byte[64 << 20], Duration.ofMillis(500))));
            assertTrue(e.getMessage().contains("stopped reading in the middle of a frame"), e.getMessage());
            assertFalse(client.isOpen(), "a cut frame ends the connection");
            ConnectionLostException next = assertThrows(ConnectionLostException.class, () -> client.ping(Duration.ofSeconds(1)));
            assertTrue(next.getMessage().contains("middle of a frame"), "later calls say why: " + next.getMessage());
        }
    }
}
