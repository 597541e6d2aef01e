package io.agentd.agent.session.cgroup;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads and writes of cgroup interface files. Writes are one plain write(2), so that a refusal is
 * the kernel's errno (EINVAL for a value it does not take, EBUSY, ENOENT for a controller that is not
 * enabled) rather than an IOException's text.
 */
final class CgroupFs {
    /** cpu.stat, the largest file read at every exit, is ~300 bytes with all controllers on. */
    private static final int READ_BUFFER_BYTES = 1024;
    static final int KEPT_BUFFER_BYTES = 64 * 1024;
    private static final ThreadLocal<ByteBuffer> READ_BUFFER =
            ThreadLocal.withInitial(() -> ByteBuffer.allocate(READ_BUFFER_BYTES));

    private CgroupFs() {}

    /** Writes {@code value} in one write(2); returns 0 or the errno. */
    static int write(Path file, String value) {
        int fd = open(file, LibC.O_WRONLY);
        if (fd < 0) {
            return Os.errno();
        }
        byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
        long n = Os.libc().write(fd, bytes, bytes.length);
        int err = n == bytes.length ? 0 : (n < 0 ? Os.errno() : LibC.EIO);
        Os.close(fd);
        return err;
    }

    /**
     * The file's text, or null when it cannot be read (missing: the controller is not enabled).
     * Interface files say they are empty (size 0), so Files.readString would read each through a new
     * 8 KiB array, ~34 KiB of garbage at every session's exit where the memory controller is on (its
     * usage and cgroup.events): most of what a flood of sessions made the collector clean up. They
     * are read into one buffer per thread instead (the loop's, the housekeeping's), grown for a big
     * one (cgroup.procs of a fork bomb) but not kept past {@link #KEPT_BUFFER_BYTES}.
     */
    static String read(Path file) {
        ByteBuffer buffer = READ_BUFFER.get().clear();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            while (true) {
                if (!buffer.hasRemaining()) {
                    buffer = ByteBuffer.allocate(buffer.capacity() * 2).put(buffer.flip());
                }
                if (channel.read(buffer) < 0) {
                    break;
                }
            }
        } catch (IOException e) {
            return null;
        } finally {
            if (buffer.capacity() <= KEPT_BUFFER_BYTES) {
                READ_BUFFER.set(buffer);
            }
        }
        return new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII);
    }

    /** An fd on {@code file} (close-on-exec), or -1 with errno set. */
    static int open(Path file, int flags) {
        return Os.libc().open(Os.cString(file.toString()), flags | LibC.O_CLOEXEC, 0);
    }
}
