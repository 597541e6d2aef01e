package io.agentd.client.relay;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The relay's own unix socket, put in place the way the agent puts its own: bound under a temporary
 * name in the same directory, made 0600 (only the relay's user may connect: whoever connects runs
 * commands in the VM), and renamed onto the path once it listens, so the path never names a socket
 * nobody accepts on. It refuses a path that is not a socket (not ours to remove), one a live
 * listener holds (another relay of the same VM), and a directory others may write to without the
 * sticky bit (every user, or a group other than the relay's: they could replace the socket, or
 * swap the temporary name for a link before the chmod, which would then change the link's target);
 * a stale socket is replaced. As the agent's SocketPath does, it first takes the path's
 * {@link PathLock}, held until {@link #close}, so that of two relays started at once the second
 * refuses; and on the way out it removes the path only if it still names the socket it put there.
 */
final class ListenSocket {
    /** The longest path the JDK binds or connects a unix socket to: sun_path less its NUL and one byte. */
    static final int JDK_PATH_MAX = 106;
    private static final int STICKY = 01000;
    private static final int GROUP_WRITE = 0020;
    private static final int OTHERS_WRITE = 0002;

    private final Path path;
    private final ServerSocketChannel server;
    private final PathLock lock;
    /** The device and inode of the socket renamed onto the path. */
    private final Object published;

    private ListenSocket(Path path, ServerSocketChannel server, PathLock lock, Object published) {
        this.path = path;
        this.server = server;
        this.lock = lock;
        this.published = published;
    }

    static ListenSocket open(Path path) throws IOException {
        path = path.toAbsolutePath();
        checkDirectory(path.getParent(), ownGid());
        PathLock lock = PathLock.take(path); // before the probe: of two relays starting on the path, the second stops here
        try {
            checkExisting(path);
            Path temporary = temporaryFor(path, ProcessHandle.current().pid());
            clearTemporary(temporary);
            ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                bind(server, temporary, path);
                if (!isSocket(temporary)) { // the chmod below follows links
                    throw new IOException(temporary + " is no longer the socket just bound; not served");
                }
                Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-------"));
                checkExisting(path); // again: the path may have changed meanwhile
                Object bound = fileKey(temporary);
                Files.move(temporary, path, StandardCopyOption.ATOMIC_MOVE);
                return new ListenSocket(path, server, lock, bound);
            } catch (IOException | RuntimeException e) {
                server.close();
                Files.deleteIfExists(temporary);
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    Path path() {
        return path;
    }

    ServerSocketChannel channel() {
        return server;
    }

    /**
     * Stops listening, removes the path if it still names the socket {@link #open} put there, and
     * lets go of the lock. False when the path names something else now: left in place, as it is
     * not this relay's to remove (a socket that replaced it, or a file someone put there).
     */
    boolean close() throws IOException {
        try {
            server.close();
            Object now;
            try {
                now = fileKey(path);
            } catch (NoSuchFileException gone) {
                return true;
            }
            if (!published.equals(now)) {
                return false;
            }
            Files.deleteIfExists(path);
            return true;
        } finally {
            lock.close();
        }
    }

    private static Object fileKey(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    }

    /** A temporary name left by a relay of this pid that died between bind and rename; only a socket is removed. */
    private static void clearTemporary(Path temporary) throws IOException {
        if (!Files.exists(temporary, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isSymbolicLink(temporary) || !isSocket(temporary)) {
            throw new IOException(temporary + " exists and is not a socket; not removed (remove it, or choose"
                    + " another path)");
        }
        Files.delete(temporary);
    }

    /**
     * {@code .NAME.PID.new}, which says whose it is, unless that is longer than the JDK binds
     * ({@link #JDK_PATH_MAX} bytes) while the path is not: then {@code .PID} in base 36, at most 6
     * bytes, so that any path whose name has 6 bytes or more can be bound. The agent's SocketPath
     * names its own the same way.
     */
    static Path temporaryFor(Path path, long pid) {
        Path readable = path.resolveSibling("." + path.getFileName() + "." + pid + ".new");
        return fits(readable) ? readable : path.resolveSibling("." + Long.toString(pid, 36));
    }

    private static boolean fits(Path p) {
        return p.toString().getBytes(StandardCharsets.UTF_8).length <= JDK_PATH_MAX;
    }

    /** The JDK's message names neither path ("No such file or directory"): the error says which. */
    private static void bind(ServerSocketChannel server, Path temporary, Path path) throws IOException {
        try {
            server.bind(UnixDomainSocketAddress.of(temporary), 256);
        } catch (IOException e) {
            throw new IOException("cannot listen on " + path + " (bound first as " + temporary.getFileName()
                    + ", then renamed): " + e.getMessage(), e);
        }
    }

    private static void checkExisting(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isSymbolicLink(path) || !isSocket(path)) {
            throw new IOException(path + " exists and is not a socket; not removed (remove it, or choose another path)");
        }
        // Not blocking: a connect to a listener that accepts nothing (stopped, its backlog full)
        // would wait for room; a unix connect is done at once, or fails (EAGAIN when full).
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.configureBlocking(false);
            probe.connect(UnixDomainSocketAddress.of(path));
        } catch (ConnectException stale) {
            return; // a socket left by a relay that died: the rename replaces it
        } catch (IOException full) {
            throw new IOException(path + " is in use: something listens on it but accepts nothing (a stopped relay?): "
                    + full.getMessage(), full);
        }
        throw new IOException(path + " is in use: something is listening on it (another relay?)");
    }

    /** As the agent's SocketPath does: see the class comment. */
    static void checkDirectory(Path dir, int ownGid) throws IOException {
        if (!Files.isDirectory(dir)) {
            return; // the bind says "cannot listen on PATH", naming it
        }
        int mode = (Integer) Files.getAttribute(dir, "unix:mode");
        if ((mode & STICKY) != 0) {
            return;
        }
        if ((mode & OTHERS_WRITE) != 0) {
            throw new IOException("the socket's directory " + dir + " is writable by every user and not sticky:"
                    + " anyone could replace the socket; use a directory only your user can write to");
        }
        int gid = (Integer) Files.getAttribute(dir, "unix:gid");
        if ((mode & GROUP_WRITE) != 0 && gid != ownGid) {
            throw new IOException("the socket's directory " + dir + " is writable by group " + gid
                    + " and not sticky: its members could replace the socket; use a directory only your user can"
                    + " write to");
        }
    }

    /** This process's group: /proc/self belongs to the effective uid and gid. */
    private static int ownGid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:gid");
    }

    static boolean isSocket(Path path) throws IOException {
        int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return (mode & 0170000) == 0140000;
    }
}
