package io.agentd.client.relay;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The lock on a socket path: a file {@code .NAME.lock} beside it, locked for the relay's life. Two
 * relays started at once on one path would both find it free and both rename a socket onto it, the
 * later taking it from the earlier; with the lock the second refuses to start, even while the socket
 * file is missing. The kernel lets go when the process ends, however it ends; the file stays, as a
 * lock file must (removed, a third relay could lock a new file while the second holds the old).
 * Copied from the agent's SocketPath (agentd and client do not depend on each other), whose socket
 * path has the same lock, so an agent and a relay told the same path exclude each other too.
 */
final class PathLock implements AutoCloseable {
    private static final FileAttribute<Set<PosixFilePermission>> LOCK_FILE_MODE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

    /**
     * The lock files this process holds. A second relay in this process (tests, testkit) is refused
     * here, before it opens the file: an fcntl lock is the process's, not the descriptor's, so
     * closing a second descriptor of the file, as a refused tryLock must, drops the first relay's lock.
     */
    private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

    private final FileChannel channel;
    private final Path held;

    private PathLock(FileChannel channel, Path held) {
        this.channel = channel;
        this.held = held;
    }

    static Path lockFileOf(Path path) {
        return path.resolveSibling("." + path.getFileName() + ".lock");
    }

    /**
     * Takes {@code path}'s lock; an IOException when another process (or another relay in this one)
     * holds it. Call it once the directory is known to be one others cannot swap the lock file's
     * name in. Not through a link; no wait on a FIFO.
     */
    /**
     * strerror's words for why the lock file did not open: the exception's own text named its Java
     * class ("java.nio.file.NoSuchFileException: /d/.x.sock.lock"), the path said already.
     */
    private static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "No such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "Permission denied";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getMessage();
    }

    static PathLock take(Path path) throws IOException {
        Path lockFile = lockFileOf(path);
        Path key = lockFile.toAbsolutePath().normalize();
        if (!HELD.add(key)) {
            throw inUse(path, lockFile);
        }
        FileChannel channel;
        try {
            channel = FileChannel.open(lockFile, Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), LOCK_FILE_MODE);
        } catch (IOException e) {
            HELD.remove(key);
            throw new IOException("cannot listen on " + path + ": its lock file " + lockFile.getFileName()
                    + " cannot be opened: " + reason(e), e);
        }
        try {
            if (channel.tryLock() != null) {
                return new PathLock(channel, key);
            }
        } catch (OverlappingFileLockException thisProcess) {
            // locked through another name of the file in this process: in use all the same
        } catch (IOException | RuntimeException e) {
            channel.close();
            HELD.remove(key);
            throw e;
        }
        channel.close();
        HELD.remove(key);
        throw inUse(path, lockFile);
    }

    private static IOException inUse(Path path, Path lockFile) {
        return new IOException(path + " is in use: another relay (or agent) holds its lock " + lockFile.getFileName()
                + " (it serves this path, or is starting on it)");
    }

    /** Lets go of the lock (it goes with the channel). */
    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // closed all the same; the kernel drops the lock with the descriptor
        } finally {
            HELD.remove(held);
        }
    }
}
