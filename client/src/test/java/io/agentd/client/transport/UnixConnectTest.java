package io.agentd.client.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.testsupport.StoppedListener;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A unix socket whose listener does not accept (a stopped agent or VMM) and whose backlog is full:
 * a blocking connect(2) would wait for room in it forever, past any timeout the caller gave.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UnixConnectTest {

    private static void assertConnectEndsWithin(AgentAddress address, Path socket) throws Exception {
        try (StoppedListener stopped = StoppedListener.at(socket)) {
            IOException e = assertThrows(IOException.class, () -> address.open(Duration.ofMillis(500)).close());
            assertTrue(e.getMessage().contains("500 ms"), e.getMessage());
            assertEquals(e.getMessage().indexOf(socket.toString()), e.getMessage().lastIndexOf(socket.toString()),
                    "the path once: " + e.getMessage());
        }
    }

    @Test
    void aUnixSocketThatAcceptsNothingIsGivenUpAfterTheTimeout(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("stopped.sock");
        assertConnectEndsWithin(new AgentAddress.Unix(socket), socket);
    }

    @Test
    void aHybridVsockSocketThatAcceptsNothingIsGivenUpAfterTheTimeout(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("vmm.sock");
        assertConnectEndsWithin(new AgentAddress.HybridVsock(socket, 52), socket);
    }

    /**
     * A zero timeout is one attempt, never a race: a listener with room takes the connect (a timer of
     * zero used to close it now and then), a full one is given up at once.
     */
    @Test
    void aZeroTimeoutConnectsToAListenerWithRoomAndGivesUpOnAFullOne(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("live.sock");
        try (java.nio.channels.ServerSocketChannel server = java.nio.channels.ServerSocketChannel.open(
                java.net.StandardProtocolFamily.UNIX)) {
            server.bind(java.net.UnixDomainSocketAddress.of(socket), 256);
            for (int i = 0; i < 200; i++) {
                try (java.nio.channels.SocketChannel c = UnixConnect.connect(socket, Duration.ZERO)) {
                    assertTrue(c.isConnected() && c.isBlocking());
                }
                server.configureBlocking(false);
                java.nio.channels.SocketChannel accepted = server.accept();
                if (accepted != null) {
                    accepted.close();
                }
            }
        }
        Path full = dir.resolve("stopped.sock");
        try (StoppedListener stopped = StoppedListener.at(full)) {
            assertThrows(UnixConnect.TimedOut.class, () -> UnixConnect.connect(full, Duration.ZERO));
        }
    }
}
