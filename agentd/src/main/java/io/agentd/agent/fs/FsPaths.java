package io.agentd.agent.fs;

import io.agentd.protocol.HostText;
import java.nio.file.InvalidPathException;
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
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            throw new FsFailure(FsFailure.EINVAL, field + " " + HostText.quote(text, HostText.QUOTE_MAX)
                    + ": " + e.getReason() + " (os error 22)");
        }
    }
}
