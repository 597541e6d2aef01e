package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.relay.IdRange;
import io.agentd.client.relay.RelayGreeting;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a client says when no core.ready comes: whether anything came at all. Nothing at all is what
 * a VM's chardev socket looks like while another client (its relay) holds it: QEMU leaves the next
 * connection in its listener's backlog, connected and unanswered.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ReadyTimeoutMessageTest {
    private static final Duration READY_TIMEOUT = Duration.ofMillis(300);

    @Test
    void aListenerThatNeverAnswersIsSaidToHaveSentNothingAtAll(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("chardev.sock");
        try (ServerSocketChannel held = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            held.bind(UnixDomainSocketAddress.of(socket)); // never accepts: the connection waits in its backlog
            TimeoutException e = assertThrows(TimeoutException.class, () -> AgentClient.connect(socket, READY_TIMEOUT));
            assertTrue(e.getMessage().contains("not ready within"), e.getMessage());
            assertTrue(e.getMessage().contains("nothing at all came on the connection"), e.getMessage());
            assertTrue(e.getMessage().contains("another client, such as its relay, holds"), e.getMessage());
        }
    }

    @Test
    void aRelayWhoseAgentIsNotReadyYetIsNotSaidToHaveSentNothing(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("relay.sock");
        try (ServerSocketChannel relay = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            relay.bind(UnixDomainSocketAddress.of(socket));
            Thread greeter = new Thread(() -> {
                try (SocketChannel c = relay.accept()) {
                    c.write(RelayGreeting.encode(IdRange.slot(0)));
                    Thread.sleep(READY_TIMEOUT.toMillis() * 100); // no core.ready: the agent is still booting
                } catch (Exception ignored) {
                    // the test's end closes the listener
                }
            });
            greeter.start();
            // longer: the greeting must come before it even on a loaded machine
            TimeoutException e = assertThrows(TimeoutException.class,
                    () -> AgentClient.connect(socket, READY_TIMEOUT.multipliedBy(10)));
            assertTrue(e.getMessage().contains("not ready within"), e.getMessage());
            assertFalse(e.getMessage().contains("nothing at all came"), e.getMessage());
            greeter.interrupt();
            greeter.join();
        }
    }
}
