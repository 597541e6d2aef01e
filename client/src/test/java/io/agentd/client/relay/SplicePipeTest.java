package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A relay pipe between real unix sockets: bytes in from one socket, and from a buffer, out to another. */
class SplicePipeTest {
    @TempDir
    Path dir;

    @Test
    void bytesSplicedFromOneSocketAndWrittenReachTheOtherInOrder() throws Exception {
        Path path = dir.resolve("s.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(path));
            try (SocketChannel source = SocketChannel.open(UnixDomainSocketAddress.of(path));
                 SocketChannel sourcePeer = server.accept();
                 SocketChannel sink = SocketChannel.open(UnixDomainSocketAddress.of(path));
                 SocketChannel sinkPeer = server.accept()) {
                sourcePeer.configureBlocking(false);
                int sourceFd = ChannelFd.of(sourcePeer);
                int sinkFd = ChannelFd.of(sink);
                assertNotEquals(ChannelFd.NONE, sourceFd, "this JDK gives the relay its fds: it splices");
                assertNotEquals(sourceFd, sinkFd);
                byte[] head = new byte[]{1, 2, 3, 4, 5};
                byte[] body = new byte[300_000];
                new Random(7).nextBytes(body);
                try (SplicePipe pipe = SplicePipe.open(sinkFd)) {
                    assertTrue(pipe.capacity() >= 64 * 1024);
                    assertEquals(SplicePipe.WOULD_BLOCK, pipe.fillFrom(sourceFd, 1000), "nothing sent yet");
                    ByteBuffer direct = ByteBuffer.allocateDirect(16).put(new byte[]{9, 9}).put(head).flip();
                    direct.position(2); // from the position, not the start
                    assertEquals(head.length, pipe.write(direct));
                    Thread writer = new Thread(() -> {
                        try {
                            source.write(ByteBuffer.wrap(body)); // blocks until the pipe took most of it
                        } catch (java.io.IOException e) {
                            throw new IllegalStateException(e);
                        }
                    });
                    writer.start();
                    sink.configureBlocking(false); // as the relay's clients are
                    sinkPeer.configureBlocking(false);
                    ByteBuffer got = ByteBuffer.allocate(head.length + body.length);
                    long in = 0;
                    while (got.hasRemaining()) {
                        if (in < body.length && pipe.room() > 0) {
                            long n = pipe.fillFrom(sourceFd, Math.min(pipe.room(), body.length - in));
                            if (n > 0) {
                                in += n;
                            }
                        }
                        assertTrue(pipe.drain(pipe.held()) >= 0);
                        sinkPeer.read(got);
                    }
                    writer.join();
                    assertEquals(0, pipe.held());
                    ByteBuffer expected = ByteBuffer.allocate(got.capacity()).put(head).put(body);
                    assertArrayEquals(expected.array(), got.array());
                }
            }
        }
    }
}
