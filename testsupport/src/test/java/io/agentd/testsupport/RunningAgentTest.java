package io.agentd.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fixture's waiting and its errors, with a shell standing in for the launcher. */
class RunningAgentTest {
    private static final Path SH = Path.of("/bin/sh");

    @Test
    void anAgentThatExitsBeforeListeningIsAnErrorQuotingItsLog(@TempDir Path dir) throws Exception {
        try (RunningAgent agent = RunningAgent.launch(SH, List.of("-c", "echo cannot serve the host; exit 3"),
                Map.of(), dir.resolve("agent.sock"), dir.resolve("agent.log"))) {
            IOException e = assertThrows(IOException.class, agent::awaitSocket);
            assertTrue(e.getMessage().contains("agent exited 3"), e.getMessage());
            assertTrue(e.getMessage().contains("cannot serve the host"), e.getMessage());
        }
    }

    @Test
    void connectWaitsForTheSocketPathThenConnectsOnce(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("agent.sock");
        try (RunningAgent agent = RunningAgent.launch(SH, List.of("-c", "sleep 30"), Map.of(), socket,
                dir.resolve("agent.log"));
                ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            Thread binder = new Thread(() -> {
                try {
                    Thread.sleep(100);
                    // As the agent does: bound and listening under another name, then renamed into place.
                    Path bound = dir.resolve("agent.sock.tmp");
                    server.bind(UnixDomainSocketAddress.of(bound));
                    Files.move(bound, socket, StandardCopyOption.ATOMIC_MOVE);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            binder.start();
            try (SocketChannel ch = agent.connect(s -> SocketChannel.open(UnixDomainSocketAddress.of(s)))) {
                assertEquals(UnixDomainSocketAddress.of(socket), ch.getRemoteAddress());
            }
            binder.join();
        }
    }
}
