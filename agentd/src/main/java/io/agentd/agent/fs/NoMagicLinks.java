package io.agentd.agent.fs;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * open(2) for a request with a user: no /proc "magic link" (/proc/PID/fd/N, cwd, root, exe) is
 * followed on the way. The worker acts with the user's fs uid, but it is a thread of the agent, and
 * the kernel lets a process into its own /proc/self/fd whatever its fs uid: a link the user planted
 * to /proc/self/fd/N (followed by a Read, a Copy or a ListDir with that user) reached a file the
 * agent held open (another host's handle of a file in a directory the user cannot enter), which
 * the user's own processes cannot (the agent is not dumpable). openat2 with RESOLVE_NO_MAGICLINKS
 * (Linux 5.6) refuses such a link with ELOOP; a kernel without it (ENOSYS, or a seccomp filter's
 * EPERM) is opened as before, and the agent says so once.
 *
 * <p>What acts on a name rather than opening it (unlink, rename, mkdir, symlink, readlink, lstat,
 * rmdir) cannot be given RESOLVE_NO_MAGICLINKS; it is made on /proc/self/fd/P/NAME, P the
 * directory above NAME opened here so ({@link #inItsDirectory}). The kernel finds P by the
 * agent's own descriptor, and NAME in it with the user's permission checks.
 *
 * <p>The fs code's own paths into descriptors it holds, /proc/self/fd/N/NAME (a tree walk's
 * directory), are opened relative to N, and /proc/self/fd/N itself as it is. A host that names
 * such a path itself chose it; what this guards against is a link in a path, which a guest user
 * can plant.
 */
final class NoMagicLinks {
    private static final Logger log = LoggerFactory.getLogger(NoMagicLinks.class);
    /** openat2 has the same number on x86_64 and aarch64 (the shared table). */
    private static final long SYS_OPENAT2 = 437;
    private static final long RESOLVE_NO_MAGICLINKS = 0x02;
    private static final int AT_FDCWD = -100;
    private static final int OPEN_HOW_BYTES = 24;
    /** DOTALL: a name may hold a line break (a user's "new\nline" in a tree walked with that user). */
    private static final Pattern OWN_DESCRIPTOR = Pattern.compile("/proc/self/fd/(\\d{1,9})(?:/(.+))?", Pattern.DOTALL);
    private static volatile boolean unavailable;

    private NoMagicLinks() {}

    /**
     * open(path, flags) as open(2) (-1 and {@link Os#errno()} on failure), without following a
     * magic link while the worker acts as a user.
     */
    static int open(String path, int flags) {
        if (!FsCredentials.actingAsUser() || unavailable) {
            return Os.libc().open(Os.cString(path), flags, 0);
        }
        int dirFd = AT_FDCWD;
        String name = path;
        Matcher own = OWN_DESCRIPTOR.matcher(path);
        if (own.matches()) {
            if (own.group(2) == null) { // the descriptor itself (a walk's directory, to make a file in)
                return Os.libc().open(Os.cString(path), flags, 0);
            }
            dirFd = Integer.parseInt(own.group(1));
            name = own.group(2);
        }
        int fd = openat2(dirFd, name, flags);
        if (fd < 0 && (Os.errno() == LibC.ENOSYS || Os.errno() == LibC.EPERM)) {
            int errno = Os.errno();
            // EPERM may be the path's own answer (a FUSE file system's, say): openat2 is unavailable
            // only when it refuses "/" too, and only then does every later open go without it.
            if (!refusesTheRoot()) {
                return openat2(dirFd, name, flags); // once more, for its errno
            }
            unavailable = true;
            log.warn("openat2 refused ({}): fs requests with a user follow links into /proc as the agent's own"
                    + " opens do (Linux 5.6 has openat2)", Os.errnoName(errno));
            return Os.libc().open(Os.cString(path), flags, 0);
        }
        return (int) fd;
    }

    private static boolean refusesTheRoot() {
        int fd = openat2(AT_FDCWD, "/", LibC.O_PATH | LibC.O_CLOEXEC);
        if (fd >= 0) {
            Os.libc().close(fd);
            return false;
        }
        return true;
    }

    /** openat2(dirFd, name, {flags, 0, RESOLVE_NO_MAGICLINKS}): the fd, or -1 and {@link Os#errno()}. */
    private static int openat2(int dirFd, String name, int flags) {
        byte[] text = Os.cString(name);
        ByteBuffer call = Os.scratch(OPEN_HOW_BYTES + text.length);
        call.putLong(0, Integer.toUnsignedLong(flags));
        call.putLong(8, 0);
        call.putLong(16, RESOLVE_NO_MAGICLINKS);
        call.put(OPEN_HOW_BYTES, text);
        long address = Os.address(call);
        return (int) Os.libc().syscall(SYS_OPENAT2, dirFd, address + OPEN_HOW_BYTES, address, OPEN_HOW_BYTES);
    }

    /** An operation on a path, which it may be given as /proc/self/fd/N or /proc/self/fd/N/NAME. */
    interface Acting<T, X extends Exception> {
        T act(Path path) throws X;
    }

    /**
     * {@code act} on {@code path} with its links followed: while the worker acts as a user, on
     * /proc/self/fd/N, N {@code path} opened here (O_PATH) without a magic link; on {@code path}
     * otherwise.
     */
    static <T, X extends Exception> T followed(Path path, String what, Acting<T, X> act) throws X, FsFailure {
        if (!FsCredentials.actingAsUser()) {
            return act.act(path);
        }
        return through(path.toString(), LibC.O_PATH | LibC.O_CLOEXEC, what, act);
    }

    /**
     * {@code act} on {@code path} as /proc/self/fd/P/NAME, P its directory opened here (O_PATH) without
     * a magic link, while the worker acts as a user; on {@code path} otherwise. For what acts on a
     * name without following it (a file created O_EXCL, unlink, mkdir, symlink, readlink, lstat): the
     * kernel does not follow a link at NAME itself, but by name it resolved the directories above it,
     * and a magic link there reached the entries of a directory the agent holds open.
     */
    static <T, X extends Exception> T inItsDirectory(Path path, String what, Acting<T, X> act) throws X, FsFailure {
        if (!FsCredentials.actingAsUser()) {
            return act.act(path);
        }
        int dir = openDirectoryAbove(path, what);
        try {
            return act.act(nameIn(dir, path));
        } finally {
            closeIfOpen(dir);
        }
    }

    /** An operation on two paths (a Rename's or a Copy's source and destination). */
    interface ActingOnTwo<T, X extends Exception> {
        T act(Path first, Path second) throws X;
    }

    /** {@link #inItsDirectory} for two paths at once, each in its own directory so opened. */
    static <T, X extends Exception> T inTheirDirectories(Path first, Path second, String what,
            ActingOnTwo<T, X> act) throws X, FsFailure {
        if (!FsCredentials.actingAsUser()) {
            return act.act(first, second);
        }
        int firstDir = openDirectoryAbove(first, what);
        try {
            int secondDir = openDirectoryAbove(second, what);
            try {
                return act.act(nameIn(firstDir, first), nameIn(secondDir, second));
            } finally {
                closeIfOpen(secondDir);
            }
        } finally {
            closeIfOpen(firstDir);
        }
    }

    /** The directory holding {@code path}'s last name, opened O_PATH without a magic link; -1 for "/", which has none. */
    private static int openDirectoryAbove(Path path, String what) throws FsFailure {
        Path parent = path.getParent();
        if (parent == null || path.getFileName() == null) {
            return -1;
        }
        int fd = open(parent.toString(), LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC);
        if (fd < 0) {
            throw failure(Os.errno(), what);
        }
        return fd;
    }

    /** {@code path}'s last name in directory {@code dir} (/proc/self/fd/P/NAME), or {@code path} itself when there is none. */
    private static Path nameIn(int dir, Path path) {
        return dir < 0 ? path : Path.of("/proc/self/fd/" + dir).resolve(path.getFileName().toString());
    }

    private static void closeIfOpen(int fd) {
        if (fd >= 0) {
            Os.libc().close(fd);
        }
    }

    /** {@code act} on /proc/self/fd/N, N {@code path} opened with {@code flags}. */
    private static <T, X extends Exception> T through(String path, int flags, String what, Acting<T, X> act)
            throws X, FsFailure {
        int fd = open(path, flags);
        if (fd < 0) {
            throw failure(Os.errno(), what);
        }
        try {
            return act.act(Path.of("/proc/self/fd/" + fd));
        } finally {
            Os.libc().close(fd);
        }
    }

    /** The failure for {@code errno} from {@link #open}: ELOOP says it may be a link into /proc. */
    static FsFailure failure(int errno, String what) {
        if (errno == FsFailure.ELOOP && FsCredentials.actingAsUser() && !unavailable) {
            return new FsFailure(errno, what + ": too many levels of symbolic links, or a link into /proc"
                    + " (/proc/PID/fd/N, cwd, root, exe), which a request with a user does not follow (os error 40)");
        }
        return FsFailure.of(errno, what);
    }
}
