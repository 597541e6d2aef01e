package io.agentd.agent.fs;

import io.agentd.protocol.HostText;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Turns a request's path text into a Path. Only absolute paths are taken: the agent's working
 * directory is no place a host can know or rely on, so a relative path is refused (EINVAL), as is a
 * NUL byte (which would cut the path short in the system call).
 */
final class FsPaths {
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
        if (namesDirectory(text) && !Files.isDirectory(path) && Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            throw notDirectory(field, text);
        }
        return path;
    }

    /**
     * Whether {@code text} ends with a slash, which in a system call asks for a directory: Path.of
     * drops it, and "file/" then named the file (an OpenFile with truncate emptied it, a Remove
     * deleted it, where the kernel answers ENOTDIR). {@link #absolute} refuses such a path when what
     * it names exists and is not a directory (a symlink to one is one); the operations that would
     * create something else there refuse it too ({@link #notDirectory}).
     */
    static boolean namesDirectory(String text) {
        return text.length() > 1 && text.endsWith("/");
    }

    static FsFailure notDirectory(String field, String text) {
        return new FsFailure(FsFailure.ENOTDIR, field + " " + HostText.quote(text, HostText.QUOTE_MAX)
                + " ends with / but does not name a directory: Not a directory (os error 20)");
    }
}
