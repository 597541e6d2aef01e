package io.agentd.agent.transport;

import io.agentd.agent.sys.FileType;
import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Where the agent's socket goes, and how it gets there. The socket is bound under a temporary name
 * in the same directory and renamed onto the path only once it listens, so the path never names a
 * socket nobody accepts on: a client that sees it can connect at once. Before that, the agent
 * refuses a path it must not touch: anything but a socket (a FIFO, a symbolic link, a file: not
 * ours to remove), a socket a live agent listens on, or a directory others may write to without
 * the sticky bit: every user, or a group other than the agent's own (they could replace the socket
 * there, or put a link under the temporary name between bind and chmod).
 *
 * <p>Two agents started at once on one path would both find it free and both rename a socket onto
 * it, the later one taking it from the earlier. So an agent first takes the path's lock, a file
 * {@code .NAME.lock} beside it, locked for the agent's life (the kernel lets go when the process
 * ends, however it ends; the file stays, as a lock file must: removing it would let a third agent
 * lock a new file while the second holds the old). A second agent finds it locked and refuses to
 * start, even while the socket file is missing. On the way out an agent removes the path only if
 * it still names the socket it published.
 */
final class SocketPath {
    private static final int S_IWOTH = 0002;
    private static final int S_IWGRP = 0020;
    private static final int S_ISVTX = 01000;
    private static final FileAttribute<Set<PosixFilePermission>> LOCK_FILE_MODE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

    /**
     * The lock files this process holds. A second server on the path in this process (tests, or a
     * path given twice) is refused here, before it opens the file: an fcntl lock is the process's,
     * not the descriptor's, so closing a second descriptor of the file, as a refused tryLock must,
     * would drop the first server's lock.
     */
    private static final Set<Path> HELD = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private final Path path;
    private final Path temporary;
    private final Path lockFile;
    /** The lock file, open and locked from {@link #lock} until {@link #unpublish} or {@link #abandon}; else null. */
    private FileChannel lock;
    /** The agent's uid, from {@link #check}: the lock file must be its or root's. */
    private int ownUid;
    /** The device and inode of the socket {@link #publish} renamed onto the path; null before. */
    private Object published;

    SocketPath(Path path) {
        this.path = path.toAbsolutePath();
        this.temporary = temporaryFor(this.path, ProcessHandle.current().pid());
        this.lockFile = this.path.resolveSibling("." + this.path.getFileName() + ".lock");
    }

    /**
     * {@code .NAME.PID.new}, which says whose it is, unless that would not fit in a socket address
     * ({@link UnixSocketServer#SUN_PATH_MAX}) while the path itself does: then {@code .PID} in base
     * 36, at most 6 bytes, so that any path whose name has 6 bytes or more can be bound. The
     * relay's ListenSocket (client module) names its own the same way.
     */
    static Path temporaryFor(Path path, long pid) {
        Path readable = path.resolveSibling("." + path.getFileName() + "." + pid + ".new");
        return fitsSocketAddress(readable) ? readable : path.resolveSibling("." + Long.toString(pid, 36));
    }

    static boolean fitsSocketAddress(Path p) {
        return UnixSocketServer.addressBytes(p) < UnixSocketServer.SUN_PATH_MAX;
    }

    Path path() {
        return path;
    }

    /** The name the socket is bound under until {@link #publish}. */
    Path temporary() {
        return temporary;
    }

    /**
     * Refuses a directory or a path the socket must not go to, takes the path's lock ({@link #lock},
     * held from then on), and clears a temporary name left behind.
     *
     * @param ownUid the agent's user: the directory and the lock file must be its or root's
     * @param ownGid the agent's group: a directory only it may write to besides its owner is as safe
     */
    void check(int ownUid, int ownGid) throws IOException {
        Path dir = path.getParent();
        int dirMode = mode(dir, true);
        int dirUid = (Integer) Files.getAttribute(dir, "unix:uid");
        if (dirUid != 0 && dirUid != ownUid) {
            // Its owner may rename the socket away and bind its own at the path, sticky bit or not.
            throw new IOException("the socket's directory " + dir + " is owned by uid " + Integer.toUnsignedString(dirUid)
                    + ", neither root nor the agent's user: its owner could replace the socket; use a directory"
                    + " owned by root or the agent's user");
        }
        this.ownUid = ownUid;
        if ((dirMode & S_ISVTX) == 0) {
            if ((dirMode & S_IWOTH) != 0) {
                throw new IOException("the socket's directory " + dir + " is writable by every user and not sticky:"
                        + " anyone could replace the socket; use a directory only the agent's user can write to");
            }
            int dirGid = (Integer) Files.getAttribute(dir, "unix:gid");
            if ((dirMode & S_IWGRP) != 0 && dirGid != ownGid) {
                throw new IOException("the socket's directory " + dir + " is writable by group " + dirGid
                        + " and not sticky: its members could replace the socket; use a directory only the"
                        + " agent's user can write to");
            }
        }
        lock(); // before the probe: of two agents starting on the path, the second stops here
        try {
            checkExisting(path);
            if (Files.exists(temporary, LinkOption.NOFOLLOW_LINKS)) {
                if (kind(mode(temporary, false)) != null) {
                    throw new IOException(temporary + " exists and is not a socket; not removed");
                }
                Files.delete(temporary); // an agent with this pid died between bind and rename
            }
        } catch (IOException | RuntimeException e) {
            releaseLock();
            throw e;
        }
    }

    /**
     * Takes the path's lock for this agent's life; an IOException when another process holds it (an
     * agent serving the path, or starting on it). From {@link #check}, once the directory is known to
     * be one others cannot swap the lock file's name in. Not through a link; no wait on a FIFO.
     */
    private void lock() throws IOException {
        if (lock != null) {
            return; // held already (check() again)
        }
        if (!HELD.add(lockFile)) {
            throw inUse(); // another server in this process holds it
        }
        FileChannel channel;
        try {
            channel = FileChannel.open(lockFile, Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), LOCK_FILE_MODE);
        } catch (java.nio.file.AccessDeniedException e) {
            HELD.remove(lockFile);
            // An operator read a lock file's name and "permission denied", whichever of the two it was.
            throw new IOException(Files.exists(lockFile, LinkOption.NOFOLLOW_LINKS)
                    ? lockFile + " exists and the agent's user cannot open it (made by another user, root say):"
                            + " remove it if no agent serves " + path
                    : "cannot create the lock file " + lockFile.getFileName() + " in " + lockFile.getParent()
                            + " (permission denied): the agent's user must be able to write the socket's directory", e);
        } catch (IOException | RuntimeException e) {
            HELD.remove(lockFile);
            throw e;
        }
        try {
            int lockUid = (Integer) Files.getAttribute(lockFile, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            if (lockUid != 0 && lockUid != ownUid) {
                // In a sticky directory (/tmp) anyone may make the lock file first and hold its lock.
                throw new IOException(lockFile + " is owned by uid " + Integer.toUnsignedString(lockUid)
                        + ", neither root nor the agent's user: another user made it and may hold it to keep the"
                        + " agent from starting; remove it, or use a directory only the agent's user can write to");
            }
            if (channel.tryLock() == null) {
                throw inUse();
            }
        } catch (OverlappingFileLockException thisProcess) {
            channel.close(); // locked through another name of the file in this process
            HELD.remove(lockFile);
            throw inUse();
        } catch (IOException | RuntimeException e) {
            channel.close();
            HELD.remove(lockFile);
            throw e;
        }
        lock = channel;
    }

    private IOException inUse() {
        return new IOException(path + " is in use: another agent holds its lock " + lockFile.getFileName()
                + " (it serves this path, or is starting on it)");
    }

    /**
     * Renames the listening socket onto the path, atomically: a stale socket there is replaced in
     * the same step, and at no moment is there no socket or a dead one at the path. A rename moves a
     * name, not a file: whatever was swapped in under the temporary name since the bind would be
     * published in its place. So the temporary name is checked to be the socket {@code bound} (its
     * identity, from {@link SocketFile#identity}) before, and the path after, without following a
     * link; a path that names anything else then is refused (not served, and left in place: it is
     * not this agent's to remove).
     */
    void publish(Object bound) throws IOException {
        checkExisting(path); // again: the path may have changed since check()
        requireSocket(temporary, bound);
        Files.move(temporary, path, StandardCopyOption.ATOMIC_MOVE);
        requireSocket(path, bound);
        published = bound;
    }

    private void requireSocket(Path at, Object bound) throws IOException {
        try (SocketFile socket = SocketFile.open(at, ownUid, "the socket just bound")) {
            if (!socket.identity().equals(bound)) {
                throw new IOException(at + " is no longer the socket just bound (now another socket); not served");
            }
        }
    }

    /**
     * Removes the path if it still names the socket {@link #publish} put there, and lets go of the
     * lock. False when the path names something else now (left in place: not this agent's to remove).
     */
    boolean unpublish() throws IOException {
        try {
            if (published == null) {
                return true;
            }
            Object now;
            try {
                now = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            } catch (NoSuchFileException gone) {
                return true;
            }
            if (!published.equals(now)) {
                return false;
            }
            Files.deleteIfExists(path);
            return true;
        } finally {
            published = null;
            releaseLock();
        }
    }

    /** Removes the temporary name after a failed start, and lets go of the lock. */
    void abandon() {
        try {
            Files.deleteIfExists(temporary);
        } catch (IOException e) {
            // nothing more to do: the next start with this pid removes it
        }
        releaseLock();
    }

    private void releaseLock() {
        if (lock != null) {
            try {
                lock.close(); // the lock goes with the channel
            } catch (IOException e) {
                // closed all the same; the kernel drops the lock with the descriptor
            }
            lock = null;
            HELD.remove(lockFile);
        }
    }

    private static void checkExisting(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isSymbolicLink(path)) {
            throw new IOException(path + " exists and is a symbolic link, not a socket; not removed (remove it,"
                    + " or choose another path)");
        }
        String kind = kind(mode(path, false));
        if (kind != null) {
            throw new IOException(path + " exists and is " + kind + ", not a socket; not removed (remove it, or"
                    + " choose another path)");
        }
        // Not blocking: a connect to a listener that accepts nothing (stopped, its backlog full)
        // would wait for room for ever, with the agent deaf to its SIGTERM meanwhile.
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.configureBlocking(false);
            probe.connect(UnixDomainSocketAddress.of(path)); // a unix connect is done at once, or fails
        } catch (ConnectException stale) {
            return; // a socket left by an agent that died: publish() replaces it
        } catch (IOException full) { // EAGAIN: a listener whose backlog is full
            throw new IOException(path + " is in use: something listens on it but accepts nothing ("
                    + full.getMessage() + ")", full);
        }
        throw new IOException(path + " is in use: something is listening on it");
    }

    private static int mode(Path p, boolean follow) throws IOException {
        return (Integer) (follow ? Files.getAttribute(p, "unix:mode")
                : Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS));
    }

    /** What a file that is not a socket is, for the message; null for a socket. */
    private static String kind(int mode) {
        return FileType.of(mode) == FileType.S_IFSOCK ? null : FileType.describe(mode);
    }
}
