package io.agentd.agent.fs;

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

    /**
     * {@code p} and the directories missing above it; a path that ends with / ({@code slash} not
     * null) is checked for the last one in the directory it is made in, which for the agent's own
     * request too is then opened so, each missing directory made in turn.
     */
    static void make(Path p, FsPaths.DirectoryName slash, FileAttribute<?>[] attrs) throws FsFailure {
        if (!FsCredentials.actingAsUser() && slash == null) {
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
                makeOne(at, p, at.equals(p) ? slash : null, attrs);
                break;
            } catch (FsFailure f) {
                if (f.errno() != FsFailure.ENOENT || at.getParent() == null) {
                    throw f;
                }
                missing.push(at);
            }
        }
        while (!missing.isEmpty()) {
            Path at = missing.pop();
            makeOne(at, p, at.equals(p) ? slash : null, attrs);
        }
    }

    /** mkdir of {@code dir} in its directory; ENOENT when that directory is missing. */
    private static void makeOne(Path dir, Path p, FsPaths.DirectoryName slash, FileAttribute<?>[] attrs)
            throws FsFailure {
        NoMagicLinks.inItsDirectory(dir, slash, "mkdir " + p, at -> {
            try {
                Files.createDirectory(at, attrs);
            } catch (FileAlreadyExistsException there) {
                if (!NoMagicLinks.isDirectory(at)) {
                    throw FsErrors.from(there, "mkdir " + p);
                }
            } catch (IOException e) {
                throw FsErrors.from(e, "mkdir " + p);
            }
            return null;
        });
    }
}
