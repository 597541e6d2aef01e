package io.agentd.agent.session;

import io.agentd.agent.sys.FileType;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads of the files the start finds in the state directory, which outlives agents and which a
 * session running as root can fill with anything, and the removal of those and of the agent's own.
 * The start reads them before it serves, and an agent that fails there is restarted into the same
 * files, so a read must refuse rather than fail: a file of hundreds of MiB read whole was an
 * OutOfMemoryError (fatal) on every start, a FIFO's open blocks the start for good, and a device
 * (or a link to one) may never end.
 */
final class StateFiles {
    // Its lines are the records' (and tests listen for them there).
    private static final Logger log = LoggerFactory.getLogger(SessionGroupRecords.class);

    private StateFiles() {}

    /**
     * The bytes of {@code file} if it is a regular file (not a link to one) of at most {@code maxBytes};
     * anything else is an IOException saying what it is. The type and size are read from the file
     * itself, through an O_PATH descriptor (no FIFO wait, no device open), and the read goes through
     * that same descriptor's /proc/self/fd link, so the file read is the file checked; the read stops
     * past {@code maxBytes} in case the file grows meanwhile.
     */
    static byte[] readBounded(Path file, int maxBytes) throws IOException {
        // O_NOFOLLOW: a link is read as the link, not a regular file (the records directory admits
        // no process that could make one, but a file is never followed out of it).
        int fd = Os.libc().open(Os.cString(file.toString()), LibC.O_PATH | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            throw new IOException("cannot open it: " + Os.errnoName(Os.errno()));
        }
        try {
            Path self = Path.of("/proc/self/fd/" + fd);
            int mode = (Integer) Files.getAttribute(self, "unix:mode");
            if (FileType.of(mode) != FileType.S_IFREG) {
                throw new IOException(FileType.describe(mode) + ", not a regular file");
            }
            long size = Files.size(self);
            if (size > maxBytes) {
                throw new IOException(size + " bytes, more than the " + maxBytes + " an agent writes");
            }
            try (InputStream in = Files.newInputStream(self)) {
                byte[] bytes = in.readNBytes(maxBytes + 1);
                if (bytes.length > maxBytes) {
                    throw new IOException("more than the " + maxBytes + " bytes an agent writes");
                }
                return bytes;
            }
        } finally {
            Os.close(fd);
        }
    }

    /** Removes {@code file} if it is there; a failure is only logged (debug). */
    static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            log.debug("cannot remove {}: {}", file, e.getMessage());
        }
    }
}
