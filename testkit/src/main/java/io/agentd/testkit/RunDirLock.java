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
 */
final class RunDirLock implements AutoCloseable {
    static final String FILE = ".vm.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private RunDirLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    static RunDirLock take(Path runDir) throws GuestVmException {
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
                throw new GuestVmException("the run directory " + runDir + " is in use by another GuestVm: give each"
                        + " VM its own (or none: a temporary one is made)");
            }
            String running = runningQemu(runDir);
            if (running != null) {
                throw new GuestVmException("a VM booted from " + runDir + " still runs (QEMU pid " + running
                        + "): stop it first or choose another run directory");
            }
            taken = true;
            return new RunDirLock(channel, lock);
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

    /** The pid in the directory's qemu.pid when that process is a QEMU still running; else null. */
    private static String runningQemu(Path runDir) {
        try {
            String pid = Files.readString(runDir.resolve("qemu.pid"), StandardCharsets.US_ASCII).trim();
            if (pid.isEmpty() || !pid.chars().allMatch(Character::isDigit)) {
                return null;
            }
            String cmdline = Files.readString(Path.of("/proc", pid, "cmdline"), StandardCharsets.ISO_8859_1);
            return cmdline.contains("qemu") ? pid : null;
        } catch (IOException e) {
            return null; // no pid file, or no such process
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
        }
    }
}
