package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.RelayClientRange;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hold notice never makes its thread wait behind another thread's write. The reader decides the
 * notice when a stream fills; while a stdin write waited for the peer to read (behind a relay: until
 * this connection read what the relay held for it), a reader that sent the notice itself waited for
 * the write lock, read nothing more, and the connection stopped for good (a read-only review
 * reproduced it through the real relay). Now the reader goes on delivering every session's output,
 * and the notice goes out when the write lock is free (between two of the write's chunks).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HoldNoticeBehindAWriterTest {

    @Test
    void theReaderGoesOnWhileAWriteWaitsAndTheNoticeFollowsTheWrite(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir)) {
            AgentClient client = peer.connect(Ready.FEATURE_RELAY_FLOW); // no stdin_window: stdin never waits for credit
            ExecSession streams = client.startWithStreams(ExecRequest.of("x"), 16);
            assertEquals(MessageType.EXEC_REQUEST, peer.receive().type());
            LinkedBlockingQueue<String> other = new LinkedBlockingQueue<>();
            ExecSession listened = client.start(ExecRequest.of("cat"),
                    output -> other.add(new String(output.data(), StandardCharsets.UTF_8)));
            assertEquals(MessageType.EXEC_REQUEST, peer.receive().type());
            peer.send(new Frame(streams.id(), MessageType.EXEC_STARTED, new ExecStarted(3)));
            peer.send(new Frame(listened.id(), MessageType.EXEC_STARTED, new ExecStarted(4)));

            CompletableFuture<Throwable> written = new CompletableFuture<>();
            Thread writer = new Thread(() -> {
                try {
                    listened.writeStdin(new byte[64 << 20]); // far more than the socket buffers hold
                    written.complete(null);
                } catch (Throwable t) {
                    written.complete(t);
                }
            });
            writer.start();
            BlockedWriteTest.waitUntilBlockedWriting(writer);

            // The stream's 16 bytes fill: the reader decides to ask for a hold, with the write lock taken.
            peer.send(new Frame(streams.id(), MessageType.EXEC_STDOUT, new ExecData(new byte[32])));
            peer.send(new Frame(listened.id(), MessageType.EXEC_STDOUT,
                    new ExecData("after".getBytes(StandardCharsets.UTF_8))));
            assertEquals("after", other.poll(10, TimeUnit.SECONDS),
                    "the reader delivered the next frame: it did not wait behind the write");

            // The peer reads again: the stdin, in its chunks, with the notice between two of them.
            long stdinBytes = 0;
            Frame notice = null;
            while (stdinBytes < (64 << 20) || notice == null) {
                Frame f = peer.receive();
                if (f.type() == MessageType.EXEC_STDIN) {
                    assertEquals(listened.id(), f.id());
                    stdinBytes += ((ExecData) f.payload()).data().length;
                } else {
                    assertEquals(null, notice, "one notice: " + f);
                    notice = f;
                }
            }
            assertEquals(64 << 20, stdinBytes, "every stdin byte, none cut by the notice");
            assertEquals(MessageType.CORE_RELAY_CLIENT_PAUSED, notice.type(), notice.toString());
            assertEquals(new RelayClientRange(streams.id(), streams.id() + 1), notice.payload());
            assertEquals(null, written.get(10, TimeUnit.SECONDS));
            assertTrue(client.isOpen());
            client.close();
        }
    }
}
