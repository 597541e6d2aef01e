package io.agentd.agent.session.cgroup;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads and writes of cgroup interface files. Writes are one plain write(2), so that a refusal is
 * the kernel's errno (EINVAL for a value it does not take, EBUSY, ENOENT for a controller that is not
 * enabled) rather than an IOException's text.
 */
final class CgroupFs {
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

    /** The file's text, or null when it cannot be read (missing: the controller is not enabled). */
    static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return null;
        }
    }

    /** An fd on {@code file} (close-on-exec), or -1 with errno set. */
    static int open(Path file, int flags) {
        return Os.libc().open(Os.cString(file.toString()), flags | LibC.O_CLOEXEC, 0);
    }
}
