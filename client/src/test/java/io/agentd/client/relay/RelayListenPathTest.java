package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.testsupport.StoppedListener;
import io.agentd.testsupport.TryLockProcess;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The relay's socket path is its own as the agent's is the agent's (its SocketPath): a lock beside
 * it keeps a second relay off the path, even while the socket file is missing; at its end a relay
 * removes only the socket it put there; it removes nothing that is not a socket; and a listener
 * that accepts nothing is found without waiting on it.
 */
@Timeout(60)
class RelayListenPathTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    /** A VM's port socket: it listens, and the relay's connect waits in its backlog. */
    private static ServerSocketChannel portAt(Path path) throws IOException {
        ServerSocketChannel port = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        port.bind(UnixDomainSocketAddress.of(path));
        return port;
    }

    /**
     * Two relays started at once on one path both found it free and both renamed a socket onto it,
     * the later taking it from the earlier. Here the second starts while the first's socket file is
     * missing (as between the first's check and its rename): the first's lock refuses it.
     */
    @Test
    void aSecondRelayOnAPathARelayHoldsIsRefusedEvenWhileTheSocketFileIsMissing(@TempDir Path dir) throws Exception {
        Path listen = dir.resolve("relay.sock");
        try (ServerSocketChannel firstPort = portAt(dir.resolve("first-port.sock"));
                ServerSocketChannel secondPort = portAt(dir.resolve("second-port.sock"));
                Relay first = Relay.start(dir.resolve("first-port.sock"), listen, WAIT)) {
            Files.delete(listen);
            IOException e = assertThrows(IOException.class,
                    () -> Relay.start(dir.resolve("second-port.sock"), listen, WAIT).close());
            assertTrue(e.getMessage().contains("is in use"), e.getMessage());
            assertFalse(Files.exists(listen), "the second relay put no socket there");
            // The refused second try must not have dropped the first relay's lock (an fcntl lock is
            // the process's: closing any descriptor of the file lets it go).
            assertEquals("refused", TryLockProcess.tryFrom(dir.resolve(".relay.sock.lock")),
                    "another process can take the lock the first relay holds");
        }
    }

    /** At its end a relay removes its path only if it still names the socket the relay put there. */
    @Test
    void aRelayLeavesInPlaceASocketThatReplacedItsOwn(@TempDir Path dir) throws Exception {
        Path listen = dir.resolve("relay.sock");
        try (ServerSocketChannel port = portAt(dir.resolve("port.sock"));
                ServerSocketChannel other = portAt(dir.resolve("other.sock"))) {
            Relay relay = Relay.start(dir.resolve("port.sock"), listen, WAIT);
            Files.move(dir.resolve("other.sock"), listen, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            relay.close();
            assertTrue(Files.exists(listen), "the other socket was removed");
            try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(listen))) {
                assertTrue(c.isConnected(), "the path still reaches the other listener");
            }
        }
        // its own is removed, and the lock let go: a relay starts there again
        try (ServerSocketChannel port = portAt(dir.resolve("port2.sock"))) {
            Files.delete(listen);
            Relay.start(dir.resolve("port2.sock"), listen, WAIT).close();
            assertFalse(Files.exists(listen));
        }
    }

    /** What a relay of the same pid left at its temporary name is removed only if it is a socket. */
    @Test
    void aFileAtTheTemporaryNameThatIsNoSocketIsNotRemoved(@TempDir Path dir) throws Exception {
        Path listen = dir.resolve("relay.sock");
        Path temporary = ListenSocket.temporaryFor(listen, ProcessHandle.current().pid());
        Files.writeString(temporary, "someone's");
        try (ServerSocketChannel port = portAt(dir.resolve("port.sock"))) {
            IOException e = assertThrows(IOException.class, () -> Relay.start(dir.resolve("port.sock"), listen, WAIT).close());
            assertTrue(e.getMessage().contains("is not a socket; not removed"), e.getMessage());
        }
        assertEquals("someone's", Files.readString(temporary));
    }

    /** A listener that accepts nothing, its backlog full: refused at once, not after a connect's wait. */
    @Test
    void aListenerWhoseBacklogIsFullIsRefusedWithoutWaiting(@TempDir Path dir) throws Exception {
        Path listen = dir.resolve("relay.sock");
        try (StoppedListener stopped = StoppedListener.at(listen)) {
            long start = System.nanoTime();
            IOException e = assertThrows(IOException.class, () -> ListenSocket.open(listen).close());
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(e.getMessage().contains("accepts nothing"), e.getMessage());
            assertTrue(millis < 1000, "refused after " + millis + " ms");
        }
    }
}
