package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.testsupport.TryLockProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The temporary name the socket is bound under before its rename: readable when it fits, short when not. */
class SocketPathTest {
    private static final long PID = 4194304; // the largest pid_max: 7 digits, "2hwcg" in base 36
    private static final int UID = io.agentd.agent.sys.Os.libc().getuid();

    /** A path of exactly {@code bytes} bytes ending in {@code name}. */
    private static Path pathOf(int bytes, String name) {
        String dir = "/" + "d".repeat(bytes - name.length() - 2);
        Path p = Path.of(dir, name);
        assertEquals(bytes, p.toString().length());
        return p;
    }

    @Test
    void aPathWithRoomGetsTheNameThatSaysWhoseItIs() {
        Path socket = Path.of("/run/agentd/agentd.sock");
        assertEquals(Path.of("/run/agentd/.agentd.sock.4194304.new"), SocketPath.temporaryFor(socket, PID));
    }

    @Test
    void aPathAtTheAddressLimitGetsAShortNameThatStillFits() {
        Path socket = pathOf(UnixSocketServer.SUN_PATH_MAX - 1, "agent.sock");
        Path temporary = SocketPath.temporaryFor(socket, PID);
        assertEquals(socket.resolveSibling(".2hwcg"), temporary);
        assertTrue(SocketPath.fitsSocketAddress(temporary), temporary.toString());
        // six bytes of name are enough
        Path six = pathOf(UnixSocketServer.SUN_PATH_MAX - 1, "a.sock");
        assertTrue(SocketPath.fitsSocketAddress(SocketPath.temporaryFor(six, PID)));
    }

    @Test
    void aPathPastTheLimitDoesNotFit() {
        assertTrue(!SocketPath.fitsSocketAddress(pathOf(UnixSocketServer.SUN_PATH_MAX, "agent.sock")));
        assertTrue(SocketPath.fitsSocketAddress(pathOf(UnixSocketServer.SUN_PATH_MAX - 1, "agent.sock")));
    }
    /**
     * A directory another group may write to, without the sticky bit, is refused like one every
     * user may write to: a member could swap the temporary name for a link between bind and chmod
     * (as root, the chmod and chgrp then landed on any file) or replace the socket. The agent's own
     * group, and a sticky directory, are fine. Needs root (to give the directory another group).
     */
    @Test
    void aDirectoryAnotherGroupMayWriteToIsRefused() throws Exception {
        Assumptions.assumeTrue(io.agentd.agent.sys.Os.libc().getuid() == 0, "needs root to chgrp");
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target").toAbsolutePath()), "sockdir-");
        Files.setAttribute(dir, "unix:gid", 4321);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxr-x"));
        SocketPath inGroupDir = new SocketPath(dir.resolve("agent.sock"));
        IOException e = assertThrows(IOException.class, () -> inGroupDir.check(UID, 0));
        assertTrue(e.getMessage().contains("is writable by group 4321 and not sticky"), e.getMessage());
        inGroupDir.check(UID, 4321); // the agent's own group
        Files.setAttribute(dir, "unix:mode", 01775); // sticky: nobody replaces another's file
        inGroupDir.check(UID, 0);
        Files.setAttribute(dir, "unix:mode", 0755);
        inGroupDir.check(UID, 0);
    }

    /**
     * A second server on the path in this process is refused, and the first keeps its lock: the
     * refusal must not open (and so close) a second descriptor of the lock file, which would drop
     * the process's fcntl lock; another process still finds the path locked.
     */
    @Test
    void aSecondServerOnThePathInThisProcessIsRefusedAndTheFirstKeepsItsLock() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target").toAbsolutePath()), "lock-");
        SocketPath first = new SocketPath(dir.resolve("agent.sock"));
        first.check(UID, 0);
        try {
            SocketPath second = new SocketPath(dir.resolve("agent.sock"));
            IOException e = assertThrows(IOException.class, () -> second.check(UID, 0));
            assertTrue(e.getMessage().contains("is in use"), e.getMessage());
            assertEquals("refused", TryLockProcess.tryFrom(dir.resolve(".agent.sock.lock")),
                    "another process can take the lock the first server holds");
        } finally {
            first.abandon();
        }
        assertEquals("locked", TryLockProcess.tryFrom(dir.resolve(".agent.sock.lock")), "let go at the end");
    }

    /**
     * A directory owned by another user is refused, sticky or not: its owner may rename the socket
     * away and bind its own at the path (a host's frames then went to it). A lock file another user
     * made first (in a sticky directory anyone may write, such as /tmp) is refused with a line
     * saying who made it, not taken for another agent's. Needs root (to give them another owner).
     */
    @Test
    void aDirectoryOrALockFileOfAnotherUserIsRefused() throws Exception {
        Assumptions.assumeTrue(UID == 0, "needs root to chown");
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target").toAbsolutePath()), "owned-");
        Files.setAttribute(dir, "unix:uid", 4321);
        SocketPath inOthersDir = new SocketPath(dir.resolve("agent.sock"));
        IOException e = assertThrows(IOException.class, () -> inOthersDir.check(UID, 0));
        assertTrue(e.getMessage().contains("is owned by uid 4321, neither root nor the agent's user"), e.getMessage());
        Files.setAttribute(dir, "unix:mode", 01777);
        assertThrows(IOException.class, () -> inOthersDir.check(UID, 0), "sticky too");

        Files.setAttribute(dir, "unix:uid", 0); // root's sticky directory, as /tmp
        Path lock = Files.createFile(dir.resolve(".agent.sock.lock"));
        Files.setAttribute(lock, "unix:uid", 4321);
        SocketPath withOthersLock = new SocketPath(dir.resolve("agent.sock"));
        e = assertThrows(IOException.class, () -> withOthersLock.check(UID, 0));
        assertTrue(e.getMessage().contains(".agent.sock.lock is owned by uid 4321"), e.getMessage());
        Files.delete(lock);
        withOthersLock.check(UID, 0);
        withOthersLock.abandon();
    }
}
