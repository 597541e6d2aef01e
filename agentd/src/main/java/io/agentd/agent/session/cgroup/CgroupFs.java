package io.agentd.agent.session.cgroup;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Reads and writes of cgroup interface files. Writes are one plain write(2), so that a refusal is
 * the kernel's errno (EINVAL for a value it does not take, EBUSY, ENOENT for a controller that is not
 * enabled) rather than an IOException's text.
 */
final class CgroupFs {
    /** cpu.stat, the largest file read at every exit, is ~300 bytes with all controllers on. */
    private static final int READ_BUFFER_BYTES = 1024;
    private static final int KEPT_BUFFER_BYTES = 64 * 1024;
    private static final ThreadLocal<byte[]> READ_BUFFER = ThreadLocal.withInitial(() -> new byte[READ_BUFFER_BYTES]);

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
     * 8 KiB array, and a session's end reads three (cgroup.events twice, cpu.stat), five with the
     * memory controller: a large share of what a flood of sessions gave the collector. They are read
     * into one array per thread instead (the loop's, the housekeeping's), grown for a big one
     * (cgroup.procs of a fork bomb) but not kept past {@link #KEPT_BUFFER_BYTES}. A FileInputStream,
     * not a FileChannel: its reads ignore a thread's interrupt, as Files.readString's did, and take no
     * temporary direct buffer that the JDK would keep per thread at the largest size ever read.
     */
    static String read(Path file) {
        byte[] buffer = READ_BUFFER.get();
        int length = 0;
        try (FileInputStream in = new FileInputStream(file.toFile())) {
            while (true) {
                if (length == buffer.length) {
                    buffer = Arrays.copyOf(buffer, buffer.length * 2);
                }
                int n = in.read(buffer, length, buffer.length - length);
                if (n < 0) {
                    break;
                }
                length += n;
            }
        } catch (IOException e) {
            return null;
        } finally {
            if (buffer.length <= KEPT_BUFFER_BYTES) {
                READ_BUFFER.set(buffer);
            }
        }
        return new String(buffer, 0, length, StandardCharsets.US_ASCII);
    }

    /**
     * The file's whitespace-separated words in order (cgroup.controllers, cgroup.subtree_control,
     * cgroup.procs); empty when it cannot be read.
     */
    static Set<String> readWords(Path file) {
        String text = read(file);
        Set<String> words = new LinkedHashSet<>();
        if (text != null) {
            for (String w : text.trim().split("\\s+")) {
                if (!w.isEmpty()) {
                    words.add(w);
                }
            }
        }
        return words;
    }

    /** An fd on {@code file} (close-on-exec), or -1 with errno set. */
    static int open(Path file, int flags) {
        return Os.libc().open(Os.cString(file.toString()), flags | LibC.O_CLOEXEC, 0);
    }
}
