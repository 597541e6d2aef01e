package io.agentd.agent.session;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
 *
 * <p>The state directory is opened once, as a descriptor, and all of the above is done relative to it
 * (openat, mkdirat, renameat), never by a path through it: its owner could replace it with a link,
 * or rename another user's directory into its place (and kill the agent, which init restarts), and
 * have the agent make and set aside directories there. A state directory whose own name is a link,
 * or that is not the agent's or others may write in, is refused, and the agent keeps no records.
 * The directories above it are taken as given: each must be one such a session cannot rename (in
 * the guest, /run is a tmpfs mount point; /var/run, a link in root's /var, would not do).
 */
final class RecordsDirectory {
    // Its lines are the records' (and tests listen for them there).
    private static final Logger log = LoggerFactory.getLogger(SessionGroupRecords.class);
    private static final int ATTEMPTS = 3;
    /** Mode 0700 and the sticky bit: set once the directory was found empty after it was given away. */
    static final int SEALED = 01700;

    private RecordsDirectory() {}

    /**
     * A descriptor (O_PATH) of the records directory {@code name} in {@code stateDir} (made, mode
     * 0755, if missing), made if missing or set aside and made again if it is not one an agent made;
     * an IOException when none can be had, or when {@code stateDir} is a symbolic link.
     */
    static int open(Path stateDir, String name, int owner) throws IOException {
        int stateFd = openStateDir(stateDir);
        try {
            return openIn(stateFd, stateDir.resolve(name), owner);
        } finally {
            Os.close(stateFd); // the records directory's descriptor is all the agent uses from now on
        }
    }

    /**
     * {@code stateDir} as a directory descriptor, without following a link at its own name, and only
     * if it is the agent's and no one else may write in it: a strict session can rename any directory
     * on /run into its place (another user's too), and the agent would then make and set aside
     * directories in that user's.
     */
    private static int openStateDir(Path stateDir) throws IOException {
        byte[] cPath = Os.cString(stateDir.toString());
        int flags = LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_NOFOLLOW | LibC.O_CLOEXEC;
        int fd = Os.libc().open(cPath, flags, 0);
        if (fd < 0 && Os.errno() == LibC.ENOENT) {
            // 0755: it may also hold the agent's socket, which users other than the agent's connect to.
            Files.createDirectories(stateDir, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwxr-xr-x")));
            fd = Os.libc().open(cPath, flags, 0);
        }
        if (fd < 0) {
            int err = Os.errno();
            throw new IOException(Files.isSymbolicLink(stateDir)
                    ? stateDir + " is a symbolic link, which is not followed (name the directory itself)"
                    : "cannot open " + stateDir + " as a directory: " + Os.errnoName(err));
        }
        Owner found = ownerOrClose(fd);
        if (found.uid() != Os.libc().getuid() || (found.mode() & 022) != 0) {
            Os.close(fd);
            throw new IOException(stateDir + " is owned by " + found + ": the agent's state directory must be its own"
                    + " (uid " + Integer.toUnsignedString(Os.libc().getuid()) + ") and writable by it alone");
        }
        return fd;
    }

    /** Who owns the directory {@code fd} names, and its mode. */
    private record Owner(int uid, int mode) {
        @Override
        public String toString() {
            return "uid " + Integer.toUnsignedString(uid) + " with mode " + Integer.toOctalString(mode & 07777);
        }
    }

    /** The owner and mode of {@code fd} (read through its /proc/self/fd link); {@code fd} is closed if they cannot be read. */
    private static Owner ownerOrClose(int fd) throws IOException {
        try {
            Path self = Path.of("/proc/self/fd/" + fd);
            return new Owner((Integer) Files.getAttribute(self, "unix:uid"), (Integer) Files.getAttribute(self, "unix:mode"));
        } catch (IOException | RuntimeException e) {
            Os.close(fd);
            throw e;
        }
    }

    /**
     * The records directory in the state directory {@code stateFd}, as {@link #open(Path, String, int)}
     * describes; {@code path} is where it is, for the log.
     */
    static int openIn(int stateFd, Path path, int owner) throws IOException {
        byte[] name = Os.cString(path.getFileName().toString());
        // One look more than makes: the last directory made is looked at too.
        for (int attempt = 0; attempt <= ATTEMPTS; attempt++) {
            int fd = Os.libc().openat(stateFd, name,
                    LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
            if (fd >= 0) {
                Owner found = ownerOrClose(fd);
                if (found.uid() == owner && (found.mode() & 07777) == SEALED) {
                    return fd;
                }
                Os.close(fd);
                setAside(stateFd, path, "owned by " + found + ", not an agent's sealed one");
            } else if (Os.errno() != LibC.ENOENT) {
                setAside(stateFd, path, "not a directory (" + Os.errnoName(Os.errno()) + ")");
            }
            if (attempt < ATTEMPTS) {
                make(stateFd, path, owner);
            }
        }
        throw new IOException("cannot make " + path + " a directory only the agent can enter: something else"
                + " keeps taking its place");
    }

    /** Makes the directory under a temporary name, gives it to {@code owner} and renames it to {@code path}. */
    private static void make(int stateFd, Path path, int owner) throws IOException {
        String name = path.getFileName().toString();
        String fresh = name + ".new-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
        // Root's until given away: no permissions meanwhile. An agent of another uid keeps it, 0700 at once.
        boolean givenAway = owner != Os.libc().getuid();
        if (Os.libc().mkdirat(stateFd, Os.cString(fresh), givenAway ? 0 : 0700) != 0) {
            throw new IOException("cannot make " + path.resolveSibling(fresh) + ": " + Os.errnoName(Os.errno()));
        }
        int fd = Os.libc().openat(stateFd, Os.cString(fresh), LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NOFOLLOW
                | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            throw new IOException("cannot open " + path.resolveSibling(fresh) + ", just made: "
                    + Os.errnoName(Os.errno()));
        }
        try {
            if ((givenAway && Os.libc().fchown(fd, owner, -1) != 0) || Os.libc().fchmod(fd, 0700) != 0) {
                throw new IOException("cannot give " + path.resolveSibling(fresh) + " to uid "
                        + Integer.toUnsignedString(owner) + ": " + Os.errnoName(Os.errno()));
            }
            try (Stream<Path> inside = Files.list(Path.of("/proc/self/fd/" + fd))) {
                if (inside.findAny().isPresent()) {
                    return; // someone got in before it was the owner's: left unsealed, another is made
                }
            }
            if (Os.libc().fchmod(fd, SEALED) != 0) {
                throw new IOException("cannot seal " + path.resolveSibling(fresh) + ": " + Os.errnoName(Os.errno()));
            }
        } finally {
            Os.close(fd);
        }
        if (Os.libc().renameat(stateFd, Os.cString(fresh), stateFd, Os.cString(name)) != 0) {
            // Something took the name meanwhile (rename(2) does not replace a non-empty directory or
            // a file with a directory): the next attempt sets it aside.
            log.debug("cannot rename {} to {}: {}", fresh, path, Os.errnoName(Os.errno()));
        }
    }

    /** Renames what is at {@code path} out of the way, unread. */
    private static void setAside(int stateFd, Path path, String why) throws IOException {
        String aside = path.getFileName() + ".untrusted-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
        log.warn("session group records {} set aside unread as {}: {}", path, aside, why);
        if (Os.libc().renameat(stateFd, Os.cString(path.getFileName().toString()), stateFd, Os.cString(aside)) != 0) {
            throw new IOException("cannot set " + path + " aside: " + Os.errnoName(Os.errno()));
        }
    }
}
