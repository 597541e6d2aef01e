package io.agentd.client.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;

import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The fd code of the vsock channel (read, gathering write, a write with a deadline, close from
 * another thread) on a unix socketpair: this host has no vsock transport to connect to, and the
 * code after connect(2) does not care which family the stream socket is.
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

    @Test
    void aWriteWithADeadlineTakesWhatFitsThenGivesUpWithZeroAndGoesOnOnceThePeerReads() throws Exception {
        int[] fds = VsockStream.unixSocketPair();
        try (VsockStream a = new VsockStream(fds[0], "a"); VsockStream b = new VsockStream(fds[1], "b")) {
            ByteBuffer[] big = {ByteBuffer.allocateDirect(32 << 20)};
            long filled = 0;
            long n;
            while ((n = a.writeBefore(big, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200))) > 0) {
                filled += n;
            }
            assertTrue(filled > 0 && big[0].hasRemaining(), "the socket took part, then nothing: " + filled);
            ByteBuffer drained = ByteBuffer.allocateDirect((int) filled); // all it holds: a read never waits
            while (drained.hasRemaining()) {
                b.read(drained);
            }
            assertTrue(a.writeBefore(big, System.nanoTime() + TimeUnit.SECONDS.toNanos(5)) > 0,
                    "room again once the peer read");
        }
    }

    @Test
    void closeFromAnotherThreadEndsAWriteWaitingForRoomBeforeItsDeadline() throws Exception {
        int[] fds = VsockStream.unixSocketPair();
        try (VsockStream other = new VsockStream(fds[1], "other")) {
            VsockStream s = new VsockStream(fds[0], "s");
            ByteBuffer[] big = {ByteBuffer.allocateDirect(32 << 20)};
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            CompletableFuture<Long> writer = CompletableFuture.supplyAsync(() -> {
                try {
                    while (true) {
                        s.writeBefore(big, deadline);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(300);
            s.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> writer.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause().getCause() instanceof IOException, String.valueOf(e.getCause()));
        }
    }
}
