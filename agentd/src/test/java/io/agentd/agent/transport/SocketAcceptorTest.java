package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.ScriptedLoop;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The acceptor on a real unix socket, with a scripted loop that can refuse to watch a connection's fd. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SocketAcceptorTest {
    /** As EventLoop.dispatch: a handler's exception is logged (here: dropped) and the loop goes on. */
    private static void fireAsTheEventLoopDoes(ScriptedLoop loop, int fd, int events) {
        try {
            loop.fire(fd, events);
        } catch (RuntimeException e) {
            // EventLoop logs "handler for fd N failed" and goes on
        }
    }

    /** --max-connections 1, counted the way the agent counts: a slot is free again at hostLost(true). */
    private static final class OneSlot implements HostConnections {
        private final Loop loop;
        int open;
        final List<String> lost = new ArrayList<>();

        OneSlot(Loop loop) {
            this.loop = loop;
        }

        @Override
        public HostEndpoint accept(String peer, HostLossPolicy policy) {
            if (open >= maxConnections()) {
                return null;
            }
            open++;
            return SilentHost.endpoint(loop, over -> { // a host that says nothing needs no answer
                lost.add(peer + " over=" + over);
                if (over) {
                    open--;
                }
            });
        }

        @Override
        public HostEndpoint openPort(String device, HostLossPolicy policy) {
            throw new UnsupportedOperationException();
        }

        @Override
        public int maxConnections() {
            return 1;
        }
    }

    private static Path socketIn(String name) throws Exception {
        return Files.createTempDirectory(Files.createDirectories(Path.of("target").toAbsolutePath()), "acc-")
                .resolve(name);
    }

    /** The acceptor on {@code socket}, started, its listening fd registered with the loop. */
    private static UnixSocketServer serve(ScriptedLoop loop, Path socket, OneSlot connections) throws Exception {
        UnixSocketServer server = new UnixSocketServer(loop, socket, HostLossPolicy.KILL_SESSIONS, connections);
        server.start();
        return server;
    }

    @Test
    void aConnectionTheLoopCannotWatchIsClosedAndItsSlotFreed() throws Exception {
        ScriptedLoop loop = new ScriptedLoop();
        OneSlot connections = new OneSlot(loop);
        Path socket = socketIn("a.sock");
        UnixSocketServer server = serve(loop, socket, connections);
        int listenFd = loop.lastRegisteredFd();
        try {
            loop.refuseNewWatches(true);
            try (SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                client.connect(UnixDomainSocketAddress.of(socket));
                fireAsTheEventLoopDoes(loop, listenFd, Loop.READABLE);
                assertEquals(0, connections.open, "the slot is free again: " + connections.lost);
                assertEquals(1, connections.lost.size(), "the connection is over: " + connections.lost);
                assertTrue(connections.lost.get(0).endsWith("over=true"), connections.lost.toString());
                assertEquals(1, loop.liveRegistrations(), "nothing of it left in the loop");
                assertEquals(-1, client.read(ByteBuffer.allocate(16)), "its fd is closed: the host sees the end");
            }

            loop.refuseNewWatches(false); // the next host is served: the one slot was not kept by the failure
            try (SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                client.connect(UnixDomainSocketAddress.of(socket));
                loop.fire(listenFd, Loop.READABLE);
                assertEquals(1, connections.open);
                assertEquals(2, loop.liveRegistrations(), "the listening socket and the host's");
            }
        } finally {
            server.close();
        }
    }

    /**
     * A connection's read buffer (64 KiB of direct memory, which only a garbage collection would
     * otherwise free) goes back to the pool when the host leaves, and the next connection reads into
     * it: twenty connections one after another allocate at most one direct buffer between them.
     */
    @Test
    void aClosedConnectionsReadBufferServesTheNextConnection() throws Exception {
        ScriptedLoop loop = new ScriptedLoop();
        OneSlot connections = new OneSlot(loop);
        Path socket = socketIn("b.sock");
        UnixSocketServer server = serve(loop, socket, connections);
        int listenFd = loop.lastRegisteredFd();
        BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(pool -> pool.getName().equals("direct")).findFirst().orElseThrow();
        try {
            long afterFirst = -1;
            for (int i = 0; i < 20; i++) {
                int fd;
                try (SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    client.connect(UnixDomainSocketAddress.of(socket));
                    loop.fire(listenFd, Loop.READABLE);
                    assertEquals(1, connections.open, "connection " + i + " accepted");
                    fd = loop.lastRegisteredFd();
                }
                loop.fire(fd, Loop.READABLE); // the host has gone: end of input
                assertEquals(0, connections.open, "connection " + i + " over: " + connections.lost);
                if (i == 0) {
                    afterFirst = direct.getCount();
                }
            }
            assertTrue(direct.getCount() - afterFirst <= 1, "direct buffers made by 19 more connections: "
                    + (direct.getCount() - afterFirst));
        } finally {
            server.close();
        }
    }
}
