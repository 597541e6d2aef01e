package io.agentd.client.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
