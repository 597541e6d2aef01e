package io.agentd.client.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SocketStream's reads on a real unix socket, in particular after a read that emptied the socket
 * (took less than it had room for), where the next read waits in the selector before it reads.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SocketStreamTest {
    @TempDir
    Path dir;
    private ServerSocketChannel server;
    private SocketChannel peer;
    private SocketStream stream;

    @BeforeEach
    void connect() throws Exception {
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(dir.resolve("s.sock")));
        SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX);
        client.connect(server.getLocalAddress());
        peer = server.accept();
        stream = new SocketStream(client);
    }

    @AfterEach
    void close() throws Exception {
        stream.close();
        peer.close();
        server.close();
    }

    private void send(String text) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes());
        while (b.hasRemaining()) {
            peer.write(b);
        }
    }

    private String read(int room) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(room);
        int n = stream.read(b);
        return n < 0 ? null : new String(b.array(), 0, n);
    }

    @Test
    void bytesThatCameWhileTheReaderWasAwayAreReadAfterADrainingRead() throws Exception {
        send("abc");
        assertEquals("abc", read(16)); // less than its room: the socket was empty
        send("de");
        assertEquals("de", read(16)); // waits in the selector, which has them already
    }

    @Test
    void bytesThatComeLaterEndAWaitThatADrainingReadBegan() throws Exception {
        send("abc");
        assertEquals("abc", read(16));
        CompletableFuture<String> next = CompletableFuture.supplyAsync(() -> {
            try {
                return read(16);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(200);
        assertTrue(!next.isDone(), "a read with nothing to read returned: " + (next.isDone() ? next.get() : ""));
        send("xyz");
        assertEquals("xyz", next.get(30, TimeUnit.SECONDS));
    }

    @Test
    void aReadThatFillsItsRoomLeavesTheRestForTheNextRead() throws Exception {
        send("0123456789");
        assertEquals("0123", read(4));
        assertEquals("456789", read(16));
    }

    @Test
    void theEndOfTheStreamIsReadAfterADrainingRead() throws Exception {
        send("abc");
        assertEquals("abc", read(16));
        peer.close();
        assertEquals(null, read(16));
    }

    @Test
    void closeEndsAWaitThatADrainingReadBegan() throws Exception {
        send("abc");
        assertEquals("abc", read(16));
        CompletableFuture<String> next = CompletableFuture.supplyAsync(() -> {
            try {
                return read(16);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(200);
        stream.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> next.get(30, TimeUnit.SECONDS));
        assertTrue(e.getCause().getCause() instanceof AsynchronousCloseException, String.valueOf(e.getCause()));
    }

    @Test
    void anInterruptedReaderWaitsOnAndKeepsItsInterrupt() throws Exception {
        send("abc");
        assertEquals("abc", read(16));
        CompletableFuture<Boolean> interruptedAfter = new CompletableFuture<>();
        CompletableFuture<String> got = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try {
                got.complete(read(16));
            } catch (Exception e) {
                got.completeExceptionally(e);
            }
            interruptedAfter.complete(Thread.currentThread().isInterrupted());
        });
        reader.start();
        Thread.sleep(200);
        reader.interrupt();
        Thread.sleep(200);
        assertTrue(!got.isDone(), "the interrupt ended the read");
        send("xyz");
        assertEquals("xyz", got.get(30, TimeUnit.SECONDS));
        assertTrue(interruptedAfter.get(30, TimeUnit.SECONDS), "the reader's interrupt flag was cleared");
        assertTrue(stream.isOpen(), "the interrupt closed the socket");
    }
}
