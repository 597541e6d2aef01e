package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer blocked because the peer does not read (an agent without stdin flow control, whose
 * socket buffers are full): an interrupt does not cut its frame or close the connection, and
 * closing the client ends the write with ConnectionLostException saying the client closed it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BlockedWriteTest {

    @Test
    void aWriteBlockedOnAPeerThatDoesNotReadOutlivesAnInterruptAndEndsAtClose(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir)) {
            AgentClient client = peer.connect(); // no stdin_window: writes never wait for credit
            ExecSession s = client.start(ExecRequest.of("cat"));
            assertEquals(MessageType.EXEC_REQUEST, peer.receive().type());
            CompletableFuture<Throwable> ended = new CompletableFuture<>();
            Thread writer = new Thread(() -> {
                try {
                    s.writeStdin(new byte[64 << 20]); // far more than the socket buffers hold
                    ended.complete(null);
                } catch (Throwable t) {
                    ended.complete(t);
                }
            });
            writer.start();
            waitUntilBlockedWriting(writer);

            writer.interrupt();
            Thread.sleep(200);
            assertFalse(ended.isDone(), "the interrupt neither cuts the frame nor fails the write: " + ended.getNow(null));
            assertTrue(client.isOpen(), "the interrupt does not close the connection");

            client.close();
            Throwable t = ended.get(10, TimeUnit.SECONDS);
            assertTrue(t instanceof ConnectionLostException, String.valueOf(t));
            assertTrue(t.getMessage().contains("closed by this client"), t.getMessage());
            writer.join(10_000);
            assertFalse(writer.isAlive());
        }
    }

    static void waitUntilBlockedWriting(Thread writer) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (writer.getState() != Thread.State.RUNNABLE || !inSelect(writer)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the writer never blocked: " + writer.getState());
            }
            Thread.sleep(20);
        }
    }

    private static boolean inSelect(Thread t) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getMethodName().startsWith("select") || e.getMethodName().equals("poll")) {
                return true;
            }
        }
        return false;
    }
}
