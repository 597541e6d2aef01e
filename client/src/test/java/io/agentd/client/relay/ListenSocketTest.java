package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The relay's socket goes in place under a temporary name, which must fit wherever the path itself does. */
class ListenSocketTest {
    @Test
    void aPathWithRoomIsBoundUnderANameThatSaysWhoseItIs() {
        assertEquals(Path.of("/run/vm/.agent.sock.4194304.new"), ListenSocket.temporaryFor(Path.of("/run/vm/agent.sock"), 4194304));
    }

    @Test
    void thePathOfTheLongestLengthTheJdkBindsIsServed(@TempDir Path dir) throws Exception {
        String name = "agent.sock";
        int room = ListenSocket.JDK_PATH_MAX - dir.toString().length() - 2 - name.length(); // two slashes
        assertTrue(room > 0, "the test directory leaves room: " + dir);
        Path longest = Files.createDirectory(dir.resolve("d".repeat(room))).resolve(name);
        assertEquals(ListenSocket.JDK_PATH_MAX, longest.toString().length());
        try (ServerSocketChannel server = ListenSocket.open(longest);
                SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            client.connect(UnixDomainSocketAddress.of(longest));
            try (SocketChannel accepted = server.accept()) {
                assertTrue(accepted.isConnected());
            }
        }
        try (var left = Files.list(longest.getParent())) {
            assertEquals(1, left.count(), "only the socket: no temporary name left behind");
        }
    }
}
