package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The socket's group and mode go on a socket or on nothing: what stands at the temporary name when
 * they are set is whatever a process that may write the directory put there (a strict root session
 * swapped in a link to a victim file, which the chmod by path made 0666). The swap itself is a race;
 * here the step is given what the swap leaves, a real link and a real file, and a real socket.
 */
class SocketFileTest {
    private static final int UID = Os.libc().getuid();

    private static Path dir() throws IOException {
        return Files.createTempDirectory(Files.createDirectories(Path.of("target").toAbsolutePath()), "socketfile-");
    }

    private static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
    }

    @Test
    void aLinkToAFileIsRefusedAndItsTargetLeftAsItWas() throws Exception {
        Path dir = dir();
        Path victim = Files.writeString(dir.resolve("victim"), "secret");
        Files.setAttribute(victim, "unix:mode", 0600);
        Path link = Files.createSymbolicLink(dir.resolve(".agent.sock.1.new"), victim);

        IOException e = assertThrows(IOException.class, () -> SocketFile.open(link, UID, "the socket just bound"));
        assertTrue(e.getMessage().contains("is no longer the socket just bound (now a symbolic link); not served"),
                e.getMessage());
        assertEquals(0600, mode(victim), "the link's target keeps its mode");
        assertEquals("secret", Files.readString(victim));
    }

    @Test
    void aRegularFileIsRefusedAndLeftAsItWas() throws Exception {
        Path file = Files.writeString(dir().resolve(".agent.sock.1.new"), "not a socket");
        Files.setAttribute(file, "unix:mode", 0640);
        IOException e = assertThrows(IOException.class, () -> SocketFile.open(file, UID, "the socket just bound"));
        assertTrue(e.getMessage().contains("(now a regular file); not served"), e.getMessage());
        assertEquals(0640, mode(file));
    }

    /** An O_PATH open waits for no writer: a FIFO swapped in is refused at once. */
    @Test
    void aFifoIsRefusedWithoutWaiting() throws Exception {
        Path fifo = dir().resolve(".agent.sock.1.new");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        IOException e = assertThrows(IOException.class, () -> SocketFile.open(fifo, UID, "the socket just bound"));
        assertTrue(e.getMessage().contains("(now a FIFO)"), e.getMessage());
    }

    @Test
    void aBoundSocketGetsItsModeAndItsIdentityIsItsOwn() throws Exception {
        Path dir = dir();
        Path path = dir.resolve(".agent.sock.1.new");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(path));
            Files.setAttribute(path, "unix:mode", 0755);
            Object identity;
            try (SocketFile socket = SocketFile.open(path, UID, "the socket just bound")) {
                socket.setMode(0660);
                identity = socket.identity();
            }
            assertEquals(0660, mode(path));
            assertEquals(Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS).fileKey(), identity);
            try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                Path otherPath = dir.resolve("other.sock");
                other.bind(UnixDomainSocketAddress.of(otherPath));
                try (SocketFile socket = SocketFile.open(otherPath, UID, "the socket just bound")) {
                    assertNotEquals(identity, socket.identity(), "another socket is told apart");
                }
            }
        }
    }

    /** Needs root: to give the socket a group the test's user is not in, and a socket another owner. */
    @Test
    void aBoundSocketGetsItsGroupAndASocketOfAnotherOwnerIsRefused() throws Exception {
        Assumptions.assumeTrue(UID == 0, "needs root to chgrp and chown");
        Path path = dir().resolve(".agent.sock.1.new");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(path));
            String group = Files.readAllLines(Path.of("/etc/group")).stream()
                    .map(line -> line.split(":")).filter(f -> f.length > 2 && !f[2].equals("0"))
                    .map(f -> f[0]).findFirst().orElseThrow();
            int gid;
            try (SocketFile socket = SocketFile.open(path, UID, "the socket just bound")) {
                gid = socket.setGroup(group);
            }
            assertNotEquals(0, gid);
            assertEquals(gid, (Integer) Files.getAttribute(path, "unix:gid", LinkOption.NOFOLLOW_LINKS));

            Files.setAttribute(path, "unix:uid", 4321, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(path, "unix:mode", 0644);
            IOException e = assertThrows(IOException.class, () -> SocketFile.open(path, UID, "the socket just bound"));
            assertTrue(e.getMessage().contains("(now a socket of uid 4321)"), e.getMessage());
            assertEquals(0644, mode(path));
        }
    }
}
