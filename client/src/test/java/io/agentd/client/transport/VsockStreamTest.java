package io.agentd.client.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The fd code of the vsock channel (read, gathering write, close from another thread) on a unix
 * socketpair: this host has no vsock transport to connect to, and the code after connect(2) does
 * not care which family the stream socket is.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class VsockStreamTest {

    @Test
    void bytesGoBothWaysThroughHeapAndDirectBuffers() throws Exception {
        int[] fds = VsockStream.unixSocketPair();
        try (VsockStream a = new VsockStream(fds[0], "a"); VsockStream b = new VsockStream(fds[1], "b")) {
            byte[] sent = new byte[100_000];
            new Random(1).nextBytes(sent);
            ByteBuffer direct = ByteBuffer.allocateDirect(40_000).put(sent, 60_000, 40_000).flip();
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    a.write(new ByteBuffer[] {ByteBuffer.wrap(sent, 0, 60_000), direct});
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            ByteBuffer got = ByteBuffer.allocateDirect(sent.length);
            while (got.hasRemaining()) {
                b.read(got);
            }
            writer.get(10, TimeUnit.SECONDS);
            byte[] back = new byte[sent.length];
            got.flip().get(back);
            assertArrayEquals(sent, back);
            a.close();
            assertEquals(-1, b.read(ByteBuffer.allocate(10)), "the peer's close is an end of stream");
        }
    }

    @Test
    void closeFromAnotherThreadEndsAReadInProgress() throws Exception {
        int[] fds = VsockStream.unixSocketPair();
        try (VsockStream other = new VsockStream(fds[1], "other")) {
            VsockStream s = new VsockStream(fds[0], "s");
            CompletableFuture<Integer> reader = CompletableFuture.supplyAsync(() -> {
                try {
                    return s.read(ByteBuffer.allocateDirect(100));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(200);
            s.close();
            assertEquals(-1, reader.get(5, TimeUnit.SECONDS), "shutdown(2) woke the blocked read");
            assertThrows(ClosedChannelException.class, () -> s.read(ByteBuffer.allocate(1)));
        }
    }
}
