package io.agentd.client.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.AgentClient;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.Ready;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host side of a hybrid vsock against a test peer that plays Firecracker's part as its
 * docs/vsock.md describes it: it listens on the unix socket {@code uds_path}; the host connects and
 * sends {@code CONNECT <guest port>\n}; once the guest accepted, the VMM answers
 * {@code OK <assigned host-side port>\n} and from then on forwards the guest's bytes. When nothing
 * listens on that guest port, it closes the connection.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FirecrackerHybridVsockHandshakeTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int GUEST_PORT = 1024;
    private final FrameEncoder encoder = new FrameEncoder();

    /** Accepts one connection, reads the CONNECT line, answers with {@code reply}; returns the connection and the line. */
    private static CompletableFuture<Object[]> firecracker(ServerSocketChannel uds, String reply) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                SocketChannel host = uds.accept();
                String line = readLine(host);
                if (reply != null) {
                    write(host, reply.getBytes(StandardCharsets.US_ASCII));
                }
                return new Object[] {host, line};
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static String readLine(SocketChannel c) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (true) {
            one.clear();
            if (c.read(one) < 0) {
                throw new IOException("host closed");
            }
            if (one.get(0) == '\n') {
                return line.toString(StandardCharsets.US_ASCII);
            }
            line.write(one.get(0));
        }
    }

    private static void write(SocketChannel c, byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    private static ServerSocketChannel listen(Path uds) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(uds));
        return server;
    }

    @Test
    void connectThenOkThenTheGuestsAgent(@TempDir Path dir) throws Exception {
        Path uds = dir.resolve("v.sock");
        try (ServerSocketChannel server = listen(uds)) {
            CompletableFuture<Object[]> vmm = CompletableFuture.supplyAsync(() -> {
                try {
                    SocketChannel host = server.accept();
                    String line = readLine(host);
                    // "OK <port>\n" and the guest's first frame in one write: the client must not
                    // swallow the frame with the line.
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    out.writeBytes("OK 1073741824\n".getBytes(StandardCharsets.US_ASCII));
                    out.writeBytes(encoder.encode(new Frame(0, MessageType.CORE_READY, new Ready(1, 2, 3, "guest"))));
                    write(host, out.toByteArray());
                    return new Object[] {host, line};
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (AgentClient client = AgentClient.connect(AgentAddress.parse("hvsock:" + uds + ":" + GUEST_PORT), WAIT)) {
                Object[] accepted = vmm.get(10, TimeUnit.SECONDS);
                assertEquals("CONNECT " + GUEST_PORT, accepted[1]);
                assertEquals("guest", client.ready().agentVersion());
                assertNull(client.relayRange(), "an agent, not a relay");
                // and the stream is the guest's both ways: a ping goes through and is answered
                SocketChannel guest = (SocketChannel) accepted[0];
                CompletableFuture<Frame> pong = client.call(MessageType.CORE_PING, Empty.INSTANCE);
                FrameDecoder decoder = new FrameDecoder();
                ByteBuffer in = ByteBuffer.allocate(4096);
                Frame ping = null;
                while (ping == null) {
                    in.clear();
                    guest.read(in);
                    decoder.feed(in.flip());
                    ping = decoder.next();
                }
                assertEquals(MessageType.CORE_PING, ping.type());
                write(guest, encoder.encode(new Frame(ping.id(), MessageType.CORE_PONG, Empty.INSTANCE)));
                assertEquals(MessageType.CORE_PONG, pong.get(10, TimeUnit.SECONDS).type());
                guest.close();
            }
        }
    }

    @Test
    void anAnswerOtherThanOkIsAnErrorQuotingIt(@TempDir Path dir) throws Exception {
        Path uds = dir.resolve("v.sock");
        try (ServerSocketChannel server = listen(uds)) {
            CompletableFuture<Object[]> vmm = firecracker(server, "NO such port\n");
            IOException e = assertThrows(IOException.class,
                    () -> AgentClient.connect(AgentAddress.parse("hvsock:" + uds + ":" + GUEST_PORT), WAIT));
            assertTrue(e.getMessage().contains("\"NO such port\"") && e.getMessage().contains("CONNECT " + GUEST_PORT),
                    e.getMessage());
            ((SocketChannel) vmm.get(10, TimeUnit.SECONDS)[0]).close();
        }
    }

    /** Whatever bytes a peer that is no VMM sends, the error quotes those bytes, one escape each. */
    @Test
    void anAnswerOfNonAsciiBytesIsQuotedByteForByte(@TempDir Path dir) throws Exception {
        Path uds = dir.resolve("v.sock");
        try (ServerSocketChannel server = listen(uds)) {
            CompletableFuture<SocketChannel> vmm = CompletableFuture.supplyAsync(() -> {
                try {
                    SocketChannel host = server.accept();
                    readLine(host);
                    write(host, new byte[] {0x00, (byte) 0xff, (byte) 0x80, 'N', 'O', '\n'});
                    return host;
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            IOException e = assertThrows(IOException.class,
                    () -> AgentClient.connect(AgentAddress.parse("hvsock:" + uds + ":" + GUEST_PORT), WAIT));
            assertTrue(e.getMessage().contains("\"\\x00\\xff\\x80NO\""), e.getMessage());
            vmm.get(10, TimeUnit.SECONDS).close();
        }
    }

    /**
     * The guest side closes right after OK, before any frame: said so without the unix socket's
     * hint about --allow-uid, which has nothing to do with vsock (it has no uids to refuse).
     */
    @Test
    void aGuestThatClosesBeforeReadyOverVsockIsNotBlamedOnUids(@TempDir Path dir) throws Exception {
        Path uds = dir.resolve("v.sock");
        try (ServerSocketChannel server = listen(uds)) {
            CompletableFuture<Object[]> vmm = firecracker(server, "OK 7\n");
            CompletableFuture<Void> closed = vmm.thenAccept(r -> {
                try {
                    ((SocketChannel) r[0]).close();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            IOException e = assertThrows(IOException.class,
                    () -> AgentClient.connect(AgentAddress.parse("hvsock:" + uds + ":" + GUEST_PORT), WAIT));
            assertTrue(e.getMessage().contains("closed the connection before it said it was ready"), e.getMessage());
            assertTrue(!e.getMessage().contains("allow-uid"), e.getMessage());
            closed.get(10, TimeUnit.SECONDS);
        }
        // and a unix socket's agent that closes at once is asked about uids
        Path unix = dir.resolve("a.sock");
        try (ServerSocketChannel agent = listen(unix)) {
            CompletableFuture<Void> refusing = CompletableFuture.runAsync(() -> {
                try {
                    agent.accept().close();
                } catch (IOException ex) {
                    throw new IllegalStateException(ex);
                }
            });
            IOException e = assertThrows(IOException.class, () -> AgentClient.connect(unix, WAIT));
            assertTrue(e.getMessage().contains("--allow-uid"), e.getMessage());
            refusing.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void noListenerOnTheGuestPortTheVmmClosesAndTheErrorSaysSo(@TempDir Path dir) throws Exception {
        Path uds = dir.resolve("v.sock");
        try (ServerSocketChannel server = listen(uds)) {
            CompletableFuture<Void> vmm = CompletableFuture.runAsync(() -> {
                try (SocketChannel host = server.accept()) {
                    readLine(host);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            IOException e = assertThrows(IOException.class,
                    () -> AgentClient.connect(AgentAddress.parse("hvsock:" + uds + ":" + GUEST_PORT), WAIT));
            assertTrue(e.getMessage().contains("closed the connection after CONNECT without an answer"), e.getMessage());
            vmm.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aVmmThatNeverAnswersTimesOutWithAClearError(@TempDir Path dir) throws Exception {
        Path uds = dir.resolve("v.sock");
        try (ServerSocketChannel server = listen(uds)) {
            CompletableFuture<Object[]> vmm = firecracker(server, "OK 12");  // no newline, ever
            IOException e = assertThrows(IOException.class,
                    () -> AgentClient.connect(AgentAddress.parse("hvsock:" + uds + ":" + GUEST_PORT), Duration.ofMillis(500)));
            assertTrue(e.getMessage().contains("no answer to CONNECT within 500 ms") && e.getMessage().contains("OK 12"),
                    e.getMessage());
            ((SocketChannel) vmm.get(10, TimeUnit.SECONDS)[0]).close();
        }
    }

    /**
     * A thread interrupted while the VMM has not answered yet: an InterruptedException at once, as
     * for any wait in the client. Before, select() returned at once while the flag was set and the
     * wait spun a core to its deadline (for ever without one), then ended in an IOException.
     */
    @Test
    void anInterruptWhileTheVmmHasNotAnsweredEndsTheWaitAtOnceWithoutSpinning(@TempDir Path dir) throws Exception {
        Path uds = dir.resolve("v.sock");
        try (ServerSocketChannel server = listen(uds)) {
            CompletableFuture<Object[]> vmm = firecracker(server, null); // reads CONNECT, never answers
            java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
            long[] cpuNanos = {-1};
            Throwable[] thrown = {null};
            Thread connecting = new Thread(() -> {
                long before = threads.getCurrentThreadCpuTime();
                try {
                    AgentClient.connect(AgentAddress.parse("hvsock:" + uds + ":" + GUEST_PORT), Duration.ofSeconds(20));
                } catch (Throwable t) {
                    thrown[0] = t;
                }
                cpuNanos[0] = threads.getCurrentThreadCpuTime() - before;
            });
            connecting.start();
            SocketChannel host = (SocketChannel) vmm.get(10, TimeUnit.SECONDS)[0]; // CONNECT read: the client waits
            Thread.sleep(200);
            long interruptedAt = System.nanoTime();
            connecting.interrupt();
            connecting.join(10_000);
            assertTrue(thrown[0] instanceof InterruptedException, "thrown: " + thrown[0]);
            assertTrue(System.nanoTime() - interruptedAt < TimeUnit.SECONDS.toNanos(5), "ended at once");
            assertTrue(cpuNanos[0] < TimeUnit.MILLISECONDS.toNanos(1500), "no spin: " + cpuNanos[0] / 1_000_000 + " ms of CPU");
            host.close();
        }
    }

    @Test
    void aLineLongerThanAnyOkIsRefusedNotReadForever(@TempDir Path dir) throws Exception {
        Path uds = dir.resolve("v.sock");
        try (ServerSocketChannel server = listen(uds)) {
            CompletableFuture<Object[]> vmm = firecracker(server, "X".repeat(10_000));
            IOException e = assertThrows(IOException.class,
                    () -> AgentClient.connect(AgentAddress.parse("hvsock:" + uds + ":" + GUEST_PORT), WAIT));
            assertTrue(e.getMessage().contains("longer than " + HybridVsockHandshake.MAX_REPLY), e.getMessage());
            ((SocketChannel) vmm.get(10, TimeUnit.SECONDS)[0]).close();
        }
    }
}
