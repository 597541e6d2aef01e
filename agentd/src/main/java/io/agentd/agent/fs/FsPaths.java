package io.agentd.agent.fs;

import io.agentd.protocol.HostText;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Turns a request's path text into a Path (a trailing slash is checked where the operation acts,
 * {@link DirectoryName}). Only absolute paths are taken: the agent's working
 * directory is no place a host can know or rely on, so a relative path is refused (EINVAL), as is a
 * NUL byte (which would cut the path short in the system call); for a request with a user, so is a
 * path into the agent's own descriptors, /proc/self/fd/N[/NAME] (ELOOP, {@link NoMagicLinks}).
 */
final class FsPaths {
    /** Test seam: runs on the worker right after the check of a path that ends with / passed. */
    static volatile Runnable afterDirectoryCheck = () -> {};

    private FsPaths() {}

    static Path absolute(String field, String text) throws FsFailure {
        if (text.isEmpty() || text.charAt(0) != '/') {
            throw new FsFailure(FsFailure.EINVAL, field + " " + HostText.quote(text, HostText.QUOTE_MAX)
                    + " is not absolute: fs paths must start with / (os error 22)");
        }
        if (text.indexOf('\0') >= 0) {
            throw new FsFailure(FsFailure.EINVAL, field + " " + HostText.quote(text, HostText.QUOTE_MAX)
                    + " holds a NUL byte (os error 22)");
        }
        Path path;
        try {
            path = Path.of(text);
        } catch (InvalidPathException e) {
            throw new FsFailure(FsFailure.EINVAL, field + " " + HostText.quote(text, HostText.QUOTE_MAX)
                    + ": " + e.getReason() + " (os error 22)");
        }
        if (FsCredentials.actingAsUser() && NoMagicLinks.namesOwnDescriptor(path)) {
            // The fs code's own paths into descriptors it holds have this form, and NoMagicLinks
            // opens them as they are (or relative to N): a host's path of that form went past
            // RESOLVE_NO_MAGICLINKS into whatever the agent held open for anyone. A user's
            // /proc/self/fd is that user's process's, never the agent's: refused as a link there is.
            throw new FsFailure(FsFailure.ELOOP, field + " " + HostText.quote(text, HostText.QUOTE_MAX)
                    + " is a link into /proc (/proc/PID/fd/N, cwd, root, exe), which a request with a user"
                    + " does not follow (os error 40)");
        }
        return path;
    }

    /**
     * The check {@code text} asks for when it ends with a slash ({@link #namesDirectory}), null when
     * it does not: the operation makes it on the name in the directory it acts in
     * ({@link NoMagicLinks#inItsDirectory(Path, DirectoryName, String, NoMagicLinks.Acting)}).
     */
    static DirectoryName directoryName(String field, String text) {
        return namesDirectory(text) ? new DirectoryName(field, text, () -> {}) : null;
    }

    /** A check of a request that comes after its path's ({@link DirectoryName#then}). */
    interface Check {
        void run() throws FsFailure;
    }

    /**
     * A path that ends with a slash, which asks for a directory: what it names, if anything, must be
     * one (a link to one is one), or the operation fails ENOTDIR ({@link #notDirectory}). Checked on
     * {@code at}, the name in the directory above it as the operation opened it to act there
     * (/proc/self/fd/P/NAME), never by the path again: by name, a guest user who may change a
     * directory on the way could swap it between the check and the act (the act then landed on a
     * file the check had refused), and for a request with a user a link into /proc on the way
     * (link -> /proc/self/fd/N) had the check tell that user what a directory the agent held
     * open, one it could not enter, held.
     */
    record DirectoryName(String field, String text, Check after) {
        void check(Path at) throws FsFailure {
            if (!NoMagicLinks.isDirectory(at) && Files.exists(at, LinkOption.NOFOLLOW_LINKS)) {
                throw notDirectory(field, text);
            }
            afterDirectoryCheck.run();
            after.run();
        }

        /** The directory above could not be opened, so there is nothing to check: only what comes after. */
        void nothingThere() throws FsFailure {
            after.run();
        }

        /** With {@code next} checked after this (the request's own checks, which a path's came before). */
        DirectoryName then(Check next) {
            return new DirectoryName(field, text, () -> {
                after.run();
                next.run();
            });
        }
    }

    /**
     * Whether {@code text} ends with a slash, which in a system call asks for a directory: Path.of
     * drops it, and "file/" then named the file (an OpenFile with truncate emptied it, a Remove
     * deleted it, where the kernel answers ENOTDIR). The operations refuse such a path when what it
     * names exists and is not a directory ({@link DirectoryName}); those that would create something
     * else there refuse it too ({@link #notDirectory}).
     */
    static boolean namesDirectory(String text) {
        return text.length() > 1 && text.endsWith("/");
    }

    static FsFailure notDirectory(String field, String text) {
        return new FsFailure(FsFailure.ENOTDIR, field + " " + HostText.quote(text, HostText.QUOTE_MAX)
                + " ends with / but does not name a directory: Not a directory (os error 20)");
    }
}
