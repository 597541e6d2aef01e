package io.agentd.testkit;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A run directory taken for one VM: a file lock on {@code .vm.lock} in it (another GuestVm, in this
 * JVM or another, is refused), and no QEMU still running from it (scripts/guest/boot --detach, whose
 * pid file is there). A boot removes the directory's sockets and empties its console: done for a
 * directory in use, the running VM lost its sockets and its console.
 *
 * <p>The file lock is fcntl's, which belongs to the process and goes when the process closes any
 * descriptor of the file: so the directories this JVM holds are refused from a set before the
 * file is opened again (a second channel's close would have dropped the first VM's lock).
 */
final class RunDirLock implements AutoCloseable {
    static final String FILE = ".vm.lock";
    /** The run directories this JVM's VMs hold. */
    private static final java.util.Set<Path> HELD = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;

    private RunDirLock(Path dir, FileChannel channel, FileLock lock) {
        this.dir = dir;
        this.channel = channel;
        this.lock = lock;
    }

    static RunDirLock take(Path runDir) throws GuestVmException {
        Path dir = realPath(runDir);
        if (!HELD.add(dir)) {
            throw inUse(runDir);
        }
        try {
            return lockFile(runDir, dir);
        } catch (GuestVmException | RuntimeException e) {
            HELD.remove(dir);
            throw e;
        }
    }

    /**
     * The directory as the file system knows it (links resolved): two spellings of one directory (a
     * symlinked checkout, "run" and its absolute path) are one entry of {@link #HELD}. Keyed by the
     * spelling, the second opened a channel of its own, and closing it dropped the first VM's lock.
     */
    private static Path realPath(Path runDir) {
        try {
            return runDir.toRealPath();
        } catch (IOException e) {
            return runDir.toAbsolutePath().normalize(); // not there yet: the lock file's open will say why
        }
    }

    private static GuestVmException inUse(Path runDir) {
        return new GuestVmException("the run directory " + runDir + " is in use by another GuestVm: give each"
                + " VM its own (or none: a temporary one is made)");
    }

    private static RunDirLock lockFile(Path runDir, Path dir) throws GuestVmException {
        FileChannel channel;
        try {
            channel = FileChannel.open(runDir.resolve(FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new GuestVmException("cannot lock the run directory " + runDir + ": " + e.getMessage(), e);
        }
        boolean taken = false;
        try {
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException inThisJvm) {
                lock = null;
            }
            if (lock == null) {
                throw inUse(runDir); // another JVM's
            }
            String running = runningQemu(runDir);
            if (running != null) {
                throw new GuestVmException("a VM booted from " + runDir + " still runs (QEMU pid " + running
                        + "): stop it first or choose another run directory");
            }
            taken = true;
            return new RunDirLock(dir, channel, lock);
        } catch (IOException e) {
            throw new GuestVmException("cannot lock the run directory " + runDir + ": " + e.getMessage(), e);
        } finally {
            if (!taken) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // nothing was taken
                }
            }
        }
    }

    /**
     * The pid in the directory's qemu.pid when a QEMU still runs from it; else null. A running QEMU
     * holds a lock on its pid file (lockf) for its whole life, however the path was spelled on its
     * command line: a lock this process cannot take says so (a relative {@code --run-dir run} of
     * scripts/guest/boot, a symlinked checkout, a "./" were missed when only the command line was
     * compared). The command-line check stays for a QEMU that holds no such lock.
     */
    private static String runningQemu(Path runDir) {
        Path pidFile = runDir.resolve("qemu.pid");
        String pid;
        try {
            pid = Files.readString(pidFile, StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            return null; // no pid file
        }
        if (pidFileLocked(pidFile)) {
            return pid.isEmpty() ? "unknown" : pid;
        }
        if (pid.isEmpty() || !pid.chars().allMatch(Character::isDigit)) {
            return null;
        }
        try {
            String cmdline = Files.readString(Path.of("/proc", pid, "cmdline"), StandardCharsets.ISO_8859_1);
            return cmdline.contains(runDir.toAbsolutePath().normalize().resolve("qemu.pid").toString()) ? pid : null;
        } catch (IOException e) {
            return null; // no such process
        }
    }

    /** Whether another process holds a lock on {@code pidFile} (opened without truncating it, the lock let go at once). */
    private static boolean pidFileLocked(Path pidFile) {
        try (FileChannel ch = FileChannel.open(pidFile, StandardOpenOption.WRITE)) {
            FileLock probe = ch.tryLock();
            if (probe == null) {
                return true;
            }
            probe.release();
            return false;
        } catch (IOException | OverlappingFileLockException e) {
            return false;
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // the lock goes with the process at worst
        } finally {
            HELD.remove(dir); // only now: a new channel on the file before this close would lose its lock with it
        }
    }
}
