package io.agentd.agent.fs;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.util.ArrayDeque;

/**
 * Mkdir: a directory and the missing ones above it, as Files.createDirectories (a directory already
 * there, or a link to one, is fine; anything else there is EEXIST). For a request with a user, each directory is made
 * by its name in the directory above, opened without a magic link ({@link NoMagicLinks}): the JDK's
 * createDirectories resolves every path by name, and a link to /proc/self/fd/N on the way made
 * directories in a directory the agent held open, one the user could not reach.
 */
final class FsMkdirs {
    private FsMkdirs() {}

    static void make(Path p, FileAttribute<?>[] attrs) throws FsFailure {
        if (!FsCredentials.actingAsUser()) {
            try {
                Files.createDirectories(p, attrs);
            } catch (IOException e) {
                throw FsErrors.from(e, "mkdir " + p);
            }
            return;
        }
        // Up from p while the directory above is missing, then down again making each.
        ArrayDeque<Path> missing = new ArrayDeque<>();
        for (Path at = p; ; at = at.getParent()) {
            try {
                makeOne(at, p, attrs);
                break;
            } catch (FsFailure f) {
                if (f.errno() != FsFailure.ENOENT || at.getParent() == null) {
                    throw f;
                }
                missing.push(at);
            }
        }
        while (!missing.isEmpty()) {
            makeOne(missing.pop(), p, attrs);
        }
    }

    /** mkdir of {@code dir} in its directory; ENOENT when that directory is missing. */
    private static void makeOne(Path dir, Path p, FileAttribute<?>[] attrs) throws FsFailure {
        NoMagicLinks.inItsDirectory(dir, "mkdir " + p, at -> {
            try {
                Files.createDirectory(at, attrs);
            } catch (FileAlreadyExistsException there) {
                if (!isDirectory(at)) {
                    throw FsErrors.from(there, "mkdir " + p);
                }
            } catch (IOException e) {
                throw FsErrors.from(e, "mkdir " + p);
            }
            return null;
        });
    }

    /** Whether {@code at} is a directory, links followed as createDirectories follows them, but none into /proc. */
    private static boolean isDirectory(Path at) {
        int fd = NoMagicLinks.open(at.toString(), LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC);
        if (fd < 0) {
            return false;
        }
        Os.libc().close(fd);
        return true;
    }
}
