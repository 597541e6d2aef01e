package io.agentd.agent.session;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The directory of the session group records: one only the records owner can enter, held open by
 * the agent and used only through that descriptor (its {@code /proc/self/fd} path), so that what
 * the start reads there was written by an agent.
 *
 * <p>Why: a record asks the next agent to SIGKILL a process group, and the state directory
 * (/run/agentd) is root's, so a root session without capabilities (the strict profile) owns it and
 * could plant records, or rename, link or replace an agent's, and have the next agent kill a group
 * it could not signal itself. This directory is mode 0700 and owned by the records owner
 * ({@link SessionGroupRecords#recordsOwner}: uid 4294967294 for an agent running as root): no
 * process without CAP_DAC_OVERRIDE (or that uid) can enter it, so none can create, open, link or
 * rename anything inside. The state directory's owner can still rename or remove the directory
 * itself: the next agent then finds none, or one that is not the owner's, and sets that aside, unread.
 *
 * <p>It is made under a temporary name with no permissions, then given to the owner with mode 0700
 * through a descriptor (never by path, which another process could point at another file
 * meanwhile), checked empty (the state directory's owner could have chmod-ed its way in before the
 * chown) and only then sealed with the sticky bit ({@link #SEALED}: mode 01700, which no process but
 * the owner or one with CAP_FOWNER can set), and renamed into place. What is at the name is opened
 * without following links and trusted only when it is a directory of the owner's, sealed: a
 * directory someone got into before it was given away stays unsealed, wherever it is renamed.
 */
final class RecordsDirectory {
    private static final Logger log = LoggerFactory.getLogger(SessionGroupRecords.class);
    private static final int ATTEMPTS = 3;
    /** Mode 0700 and the sticky bit: set once the directory was found empty after it was given away. */
    static final int SEALED = 01700;

    private RecordsDirectory() {}

    /**
     * A descriptor (O_PATH) of the records directory at {@code path}, made if missing or set aside
     * and made again if it is not one an agent made; an IOException when none can be had.
     */
    static int open(Path path, int owner) throws IOException {
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            int fd = Os.libc().open(Os.cString(path.toString()),
                    LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
            if (fd >= 0) {
                Path self = Path.of("/proc/self/fd/" + fd);
                int uid = (Integer) Files.getAttribute(self, "unix:uid");
                int mode = (Integer) Files.getAttribute(self, "unix:mode");
                if (uid == owner && (mode & 07777) == SEALED) {
                    return fd;
                }
                Os.close(fd);
                setAside(path, "owned by uid " + Integer.toUnsignedString(uid) + " with mode "
                        + Integer.toOctalString(mode & 07777) + ", not an agent's sealed one");
            } else if (Os.errno() != LibC.ENOENT) {
                setAside(path, "not a directory (" + Os.errnoName(Os.errno()) + ")");
            }
            make(path, owner);
        }
        throw new IOException("cannot make " + path + " a directory only the agent can enter: something else"
                + " keeps taking its place");
    }

    /** Makes the directory under a temporary name, gives it to {@code owner} and renames it to {@code path}. */
    private static void make(Path path, int owner) throws IOException {
        Path fresh = path.resolveSibling(path.getFileName() + ".new-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        // Root's until given away: no permissions meanwhile. An agent of another uid keeps it, 0700 at once.
        boolean givenAway = owner != Os.libc().getuid();
        Files.createDirectory(fresh, PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString(givenAway ? "---------" : "rwx------")));
        int fd = Os.libc().open(Os.cString(fresh.toString()), LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NOFOLLOW
                | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            throw new IOException("cannot open " + fresh + ", just made: " + Os.errnoName(Os.errno()));
        }
        try {
            if ((givenAway && Os.libc().fchown(fd, owner, -1) != 0) || Os.libc().fchmod(fd, 0700) != 0) {
                throw new IOException("cannot give " + fresh + " to uid " + Integer.toUnsignedString(owner) + ": "
                        + Os.errnoName(Os.errno()));
            }
            try (Stream<Path> inside = Files.list(Path.of("/proc/self/fd/" + fd))) {
                if (inside.findAny().isPresent()) {
                    return; // someone got in before it was the owner's: left unsealed, another is made
                }
            }
            if (Os.libc().fchmod(fd, SEALED) != 0) {
                throw new IOException("cannot seal " + fresh + ": " + Os.errnoName(Os.errno()));
            }
        } finally {
            Os.close(fd);
        }
        try {
            Files.move(fresh, path, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // Something took the name meanwhile (rename(2) does not replace a non-empty directory or
            // a file with a directory): the next attempt sets it aside.
            log.debug("cannot rename {} to {}: {}", fresh, path, e.toString());
        }
    }

    /** Renames what is at {@code path} out of the way, unread. */
    private static void setAside(Path path, String why) throws IOException {
        Path aside = path.resolveSibling(path.getFileName() + ".untrusted-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        log.warn("session group records {} set aside unread as {}: {}", path, aside.getFileName(), why);
        Files.move(path, aside, StandardCopyOption.ATOMIC_MOVE);
    }
}
