package io.agentd.agent.fs;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
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
 * directory), are opened relative to N, and /proc/self/fd/N itself as it is. A host's path of
 * that form is refused before it gets here ({@link FsPaths#absolute}, ELOOP, for a request with a
 * user): opened so, it reached whatever the agent held open for any host.
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
    /** /proc/PID/fd, /proc/PID/task/TID/fd, and their map_files: directories of magic links. */
    private static final Pattern PROC_DESCRIPTOR_DIRECTORY =
            Pattern.compile("/proc/(\\d+)(?:/task/\\d+)?/(?:fd|map_files)");
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
        return followed(path, null, what, act);
    }

    /**
     * As {@link #followed(Path, String, Acting)}; a path that ends with / ({@code slash} not null),
     * for the agent's own requests too, is checked and opened in the directory above it
     * ({@link #inItsDirectory(Path, FsPaths.DirectoryName, String, Acting)}), O_DIRECTORY: a name
     * swapped for a link to a file after the check is ENOTDIR, not that file.
     */
    static <T, X extends Exception> T followed(Path path, FsPaths.DirectoryName slash, String what, Acting<T, X> act)
            throws X, FsFailure {
        if (slash == null) {
            if (!FsCredentials.actingAsUser()) {
                return act.act(path);
            }
            return through(path.toString(), LibC.O_PATH | LibC.O_CLOEXEC, what, act);
        }
        try (Above above = Above.open(path)) {
            if (!above.opened()) {
                slash.nothingThere();
                throw above.failure(what);
            }
            slash.check(above.name());
            return through(above.name().toString(), LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, what, act);
        }
    }

    /**
     * {@code act} on {@code path} as /proc/self/fd/P/NAME, P its directory opened here (O_PATH) without
     * a magic link, while the worker acts as a user; on {@code path} otherwise. For what acts on a
     * name without following it (a file created O_EXCL, unlink, mkdir, symlink, readlink, lstat): the
     * kernel does not follow a link at NAME itself, but by name it resolved the directories above it,
     * and a magic link there reached the entries of a directory the agent holds open.
     */
    static <T, X extends Exception> T inItsDirectory(Path path, String what, Acting<T, X> act) throws X, FsFailure {
        return inItsDirectory(path, null, what, act);
    }

    /**
     * As {@link #inItsDirectory(Path, String, Acting)}, and a path that ends with / ({@code slash}
     * not null) is checked there, in the directory the operation acts in (for the agent's own
     * requests too, which then act there as well): the check answers about the entry the operation
     * acts on, not about what the name meant when it was looked up before.
     */
    static <T, X extends Exception> T inItsDirectory(Path path, FsPaths.DirectoryName slash, String what,
            Acting<T, X> act) throws X, FsFailure {
        try (Above above = itsDirectory(path, slash, what)) {
            return act.act(above.name());
        }
    }

    /**
     * The directory {@link #inItsDirectory(Path, FsPaths.DirectoryName, String, Acting)} acts in,
     * opened and checked, for an operation that goes on after this call (a RemoveDir's slices): the
     * caller acts on its {@link Above#name} and closes it. None is opened (its name is {@code path}
     * itself) for the agent's own request on a path that does not end with /.
     */
    static Above itsDirectory(Path path, FsPaths.DirectoryName slash, String what) throws FsFailure {
        if (slash == null && !FsCredentials.actingAsUser()) {
            return new Above(path, -1, 0);
        }
        return checked(path, slash, what, true);
    }

    /** An operation on two paths (a Rename's or a Copy's source and destination). */
    interface ActingOnTwo<T, X extends Exception> {
        T act(Path first, Path second) throws X;
    }

    /** {@link #inItsDirectory} for two paths at once, each in its own directory so opened (and checked so, if it ends with /). */
    static <T, X extends Exception> T inTheirDirectories(Path first, FsPaths.DirectoryName firstSlash, Path second,
            FsPaths.DirectoryName secondSlash, String what, ActingOnTwo<T, X> act) throws X, FsFailure {
        if (firstSlash == null && secondSlash == null && !FsCredentials.actingAsUser()) {
            return act.act(first, second);
        }
        return inTheirDirectoriesAlways(first, firstSlash, second, secondSlash, what, act);
    }

    /**
     * As {@link #inTheirDirectories}, for the agent's own requests too (whose directories are
     * opened following links, as their operations by name do): for an operation that acts on a
     * name more than once (a Copy makes its temporary file, renames it and, failing, removes it),
     * each time in the one directory opened here, not by a path a guest user may have changed
     * meanwhile.
     */
    static <T, X extends Exception> T inTheirDirectoriesAlways(Path first, FsPaths.DirectoryName firstSlash,
            Path second, FsPaths.DirectoryName secondSlash, String what, ActingOnTwo<T, X> act) throws X, FsFailure {
        try (Above firstDir = theirDirectory(first, firstSlash, what);
             Above secondDir = theirDirectory(second, secondSlash, what)) {
            return act.act(firstDir.name(), secondDir.name());
        }
    }

    /**
     * One of the directories {@link #inTheirDirectoriesAlways} acts in, opened and checked, for an
     * operation that goes on after this call (a Copy's slices): the caller acts on its
     * {@link Above#name} and closes it.
     */
    static Above theirDirectory(Path path, FsPaths.DirectoryName slash, String what) throws FsFailure {
        return checked(path, slash, what, false);
    }

    /**
     * The directory above {@code path} opened, and {@code path}'s name there checked against
     * {@code slash}; with {@code sayNothingThere}, a directory that did not open is first asked of
     * {@code slash} (a path that ends with / has its own answer for nothing there).
     */
    private static Above checked(Path path, FsPaths.DirectoryName slash, String what, boolean sayNothingThere)
            throws FsFailure {
        Above above = Above.open(path);
        try {
            if (!above.opened()) {
                if (sayNothingThere && slash != null) {
                    slash.nothingThere();
                }
                throw above.failure(what);
            }
            if (slash != null) {
                slash.check(above.name());
            }
            return above;
        } catch (FsFailure | RuntimeException e) {
            above.close();
            throw e;
        }
    }

    /**
     * Whether {@code path} has the form of the fs code's own paths into descriptors it holds,
     * /proc/self/fd/N or /proc/self/fd/N/NAME, which {@link #open} opens relative to N.
     */
    static boolean namesOwnDescriptor(Path path) {
        return OWN_DESCRIPTOR.matcher(path.toString()).matches();
    }

    /**
     * Whether {@code at} is a directory, a link at it followed but none into /proc (for a request
     * with a user): O_PATH|O_DIRECTORY opens it.
     */
    static boolean isDirectory(Path at) {
        int fd = open(at.toString(), LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC);
        if (fd < 0) {
            return false;
        }
        Os.libc().close(fd);
        return true;
    }

    /**
     * 0 when something is at {@code at} (a link there followed, but none into /proc for a request
     * with a user), else the errno that says why not (ENOENT, EACCES, ...).
     */
    static int lookUp(Path at) {
        int fd = open(at.toString(), LibC.O_PATH | LibC.O_CLOEXEC);
        if (fd < 0) {
            return Os.errno();
        }
        Os.libc().close(fd);
        return 0;
    }

    /**
     * The directory holding a path's last name, opened O_PATH|O_DIRECTORY here ({@link #open}: for a
     * request with a user without a magic link; the agent's own follows links, as its operations
     * by name do), or the errno that kept it from opening, for the caller to answer when its own
     * checks are done. A path without a last name ("/") has none; {@link #name} is the path itself.
     */
    static final class Above implements AutoCloseable {
        private final Path path;
        private int fd;
        private final int errno;

        private Above(Path path, int fd, int errno) {
            this.path = path;
            this.fd = fd;
            this.errno = errno;
        }

        static Above open(Path path) {
            Path parent = path.getParent();
            if (parent == null || path.getFileName() == null) {
                return new Above(path, -1, 0);
            }
            int fd = NoMagicLinks.open(parent.toString(), LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC);
            if (fd >= 0 && FsCredentials.actingAsUser() && !OWN_DESCRIPTOR.matcher(path.toString()).matches()
                    && isTheAgentsDescriptorDirectory(fd)) {
                Os.libc().close(fd);
                return new Above(path, -1, FsFailure.ELOOP);
            }
            return new Above(path, fd, fd < 0 ? Os.errno() : 0);
        }

        /**
         * Whether {@code dir} is the agent's own /proc/PID/fd (or a thread's, or map_files), however
         * the host spelled it (/dev/fd, /proc/thread-self/fd, ../ in it): its names are the agent's
         * descriptors, and a ReadLink or a Stat of one by name told the user the path of a file the
         * agent held open for any host. The kernel's name of the opened directory says which it is.
         * The fs code's own /proc/self/fd/N (a walk's directory) is the directory N, never this one.
         */
        private static boolean isTheAgentsDescriptorDirectory(int dir) {
            String resolved;
            try {
                resolved = Files.readSymbolicLink(Path.of("/proc/self/fd/" + dir)).toString();
            } catch (IOException | UnsupportedOperationException e) {
                return false; // no name to judge: the kernel's own checks apply, as before
            }
            Matcher m = PROC_DESCRIPTOR_DIRECTORY.matcher(resolved);
            return m.matches() && m.group(1).equals(Long.toString(ProcessHandle.current().pid()));
        }

        /** Whether the directory is open (or there is none to open). */
        boolean opened() {
            return errno == 0;
        }

        /** Why the directory did not open, for {@code what}. */
        FsFailure failure(String what) {
            return NoMagicLinks.failure(errno, what);
        }

        /** The errno that kept the directory from opening (0 when it did). */
        int errno() {
            return errno;
        }

        /** The path's last name in the directory, /proc/self/fd/P/NAME; the path itself when it has none. */
        Path name() {
            return nameIn(fd, path);
        }

        /** The directory's descriptor, given over to the caller, who closes it; -1 when there is none. */
        int take() {
            int taken = fd;
            fd = -1;
            return taken;
        }

        @Override
        public void close() {
            closeIfOpen(fd);
            fd = -1;
        }
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
