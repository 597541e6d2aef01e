package io.agentd.client.relay;

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
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
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
        ListenSocket listen = ListenSocket.open(longest);
        try (SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            client.connect(UnixDomainSocketAddress.of(longest));
            try (SocketChannel accepted = listen.channel().accept()) {
                assertTrue(accepted.isConnected());
            }
            try (var left = Files.list(longest.getParent())) {
                assertEquals(List.of(longest.getFileName().toString(), "." + name + ".lock"),
                        left.map(p -> p.getFileName().toString()).sorted(Comparator.reverseOrder()).toList(),
                        "the socket and its lock: no temporary name left behind");
            }
        } finally {
            listen.close();
        }
    }
    /**
     * A directory others may write to without the sticky bit is refused, as the agent refuses one
     * for its socket: every user, or (root only, to make one) a group other than the relay's.
     */
    @Test
    void aDirectoryOthersMayWriteToIsRefused(@TempDir Path dir) throws Exception {
        Path open = Files.createDirectory(dir.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        IOException e = assertThrows(IOException.class, () -> ListenSocket.open(open.resolve("agent.sock")));
        assertTrue(e.getMessage().contains("is writable by every user and not sticky"), e.getMessage());
        ListenSocket.checkDirectory(dir, 0);
        Files.setAttribute(open, "unix:mode", 01777); // sticky, as /tmp
        assertTrue(ListenSocket.open(open.resolve("agent.sock")).close());
        if (Files.getOwner(dir).getName().equals("root")) {
            Path group = Files.createDirectory(dir.resolve("group"));
            Files.setAttribute(group, "unix:gid", 4321);
            Files.setPosixFilePermissions(group, PosixFilePermissions.fromString("rwxrwxr-x"));
            e = assertThrows(IOException.class, () -> ListenSocket.checkDirectory(group, 0));
            assertTrue(e.getMessage().contains("is writable by group 4321 and not sticky"), e.getMessage());
            ListenSocket.checkDirectory(group, 4321);
        }
    }
}
