package io.agentd.agent.fs;

import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.util.Iterator;

/**
 * One open directory of a tree walk: its O_NOFOLLOW descriptor and a stream on that same directory.
 * The descriptors a level holds (its three, and a Copy's destination directory beside it) are taken
 * from the budget the fs handles share ({@link FsHandleBudget}) while it is open: a walk 1,536 deep
 * holds 6,144, and two such walks with the handles could otherwise take every descriptor the agent
 * has, its accepts and spawns then failing EMFILE.
 */
final class FsTreeLevel implements AutoCloseable {
    /** Its O_NOFOLLOW descriptor, and the two the JDK's secure directory stream holds (the directory and its dup). */
    static final int OWN_DESCRIPTORS = 3;

    final int fd;
    final SecureDirectoryStream<Path> dir;
    final Iterator<Path> entries;
    /** Its name in the level above (null at the top). */
    final Path name;
    private final FsHandleBudget budget;
    private final int descriptors;

    private FsTreeLevel(int fd, SecureDirectoryStream<Path> dir, Path name, FsHandleBudget budget, int descriptors) {
        this.fd = fd;
        this.dir = dir;
        this.entries = dir.iterator();
        this.name = name;
        this.budget = budget;
        this.descriptors = descriptors;
    }

    /**
     * The directory at {@code path}, its last name not followed; null when that is not a directory
     * (now). {@code descriptors} ({@link #OWN_DESCRIPTORS} and what the caller holds beside the level
     * until it closes it) are taken from {@code budget} first: EMFILE when it has no room.
     */
    static FsTreeLevel open(String path, Path name, String what, FsHandleBudget budget, int descriptors)
            throws IOException, FsFailure {
        budget.take(descriptors, what);
        FsTreeLevel level = null;
        try {
            level = openTaken(path, name, what, budget, descriptors);
            return level;
        } finally {
            if (level == null) {
                budget.giveBack(descriptors);
            }
        }
    }

    private static FsTreeLevel openTaken(String path, Path name, String what, FsHandleBudget budget, int descriptors)
            throws IOException, FsFailure {
        int fd = FsTrees.openDirectory(path, what);
        if (fd < 0) {
            return null;
        }
        try {
            // /proc/self/fd/N is the open directory itself, whatever its name has come to mean.
            DirectoryStream<Path> stream = Files.newDirectoryStream(Path.of("/proc/self/fd/" + fd));
            if (stream instanceof SecureDirectoryStream<Path> secure) {
                return new FsTreeLevel(fd, secure, name, budget, descriptors);
            }
            stream.close();
            throw new FsFailure(FsFailure.EIO, what
                    + ": this JDK has no SecureDirectoryStream to walk a tree without following links");
        } catch (IOException | FsFailure | RuntimeException e) {
            Os.libc().close(fd);
            throw e;
        }
    }

    @Override
    public void close() {
        try {
            dir.close();
        } catch (IOException ignored) {
            // a directory stream's close frees memory only
        }
        Os.libc().close(fd);
        budget.giveBack(descriptors);
    }
}
