package io.agentd.agent.fs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;

/**
 * A RemoveDir's steps ({@link FsTrees#removeDir}): with recursive, what the directory holds removed
 * without following a link, a slice at a time (the directories open on the way down kept here
 * between slices), then the directory itself.
 */
final class FsTreeRemoval implements FsSlicedWork.Steps {
    /**
     * How deep a recursive RemoveDir goes. Each level holds three descriptors while it is emptied
     * (the O_NOFOLLOW one below and the JDK's two for its directory stream), so at most 6,144, given
     * back as the walk climbs; the path-by-path walk it replaces held two a level and could not go
     * past PATH_MAX (4,096 bytes: 2,048 one-letter levels), failing ENAMETOOLONG as this does.
     */
    static final int REMOVE_DEPTH_MAX = 2048;

    /** The directory to remove: a path, or its name in the directory above it held open. */
    private final Path top;
    private final String what;
    private final FsHandleBudget budget;
    /** The directories open on the way down, the deepest first; empty once the tree is emptied. */
    private final ArrayDeque<FsTreeLevel> levels = new ArrayDeque<>();

    private FsTreeRemoval(Path top, Path shown, FsHandleBudget budget) {
        this.top = top;
        this.what = "rmdir " + shown;
        this.budget = budget;
    }

    /**
     * The removal of directory {@code top}; with {@code recursive}, everything inside it first,
     * links removed, never followed. Each
     * directory is opened O_DIRECTORY|O_NOFOLLOW|O_NONBLOCK relative to the descriptor of the one
     * that holds it (/proc/self/fd/N/NAME), and its entries are read, typed and deleted relative to
     * its own descriptor (the JDK's SecureDirectoryStream: fstatat, unlinkat), never by a path from
     * the top. Deleting by full path re-resolved every name at every unlink: a guest process that
     * swapped {@code top/sub} for a link to /etc mid-walk made the agent, as root, delete /etc's
     * files. Now the walk goes on in the directory it holds open, and a name that became a link or a
     * file in between is removed as one. The JDK's own open of a child (openat O_NOFOLLOW without
     * O_DIRECTORY) is not used: a directory swapped for a FIFO would block the worker in open(2).
     */
    static FsTreeRemoval begin(Path top, Path shown, boolean recursive, FsHandleBudget budget)
            throws IOException, FsFailure {
        FsTreeRemoval removal = new FsTreeRemoval(top, shown, budget);
        if (recursive) {
            FsTreeLevel first = FsTreeLevel.open(top.toString(), null, removal.what, budget,
                    FsTreeLevel.OWN_DESCRIPTORS);
            if (first == null) { // swapped for a link or a file since the check
                throw FsFailure.of(FsFailure.ENOTDIR, removal.what);
            }
            removal.levels.push(first);
        }
        return removal;
    }

    /** Entries until the tree is emptied and the directory removed (true), or {@code slice} is over. */
    @Override
    public boolean goOn(FsSlice slice) throws IOException, FsFailure {
        do {
            if (levels.isEmpty()) {
                Files.delete(top); // rmdir(2) never follows a link: a link put there since fails ENOTDIR
                return true;
            }
            FsTreeLevel level = levels.peek();
            if (!level.entries.hasNext()) {
                levels.pop().close();
                if (!levels.isEmpty()) {
                    deleteEmptied(levels.peek().dir, level.name);
                }
                continue;
            }
            FsStop.check(what);
            Path name = level.entries.next().getFileName();
            BasicFileAttributes attrs = level.dir.getFileAttributeView(name, BasicFileAttributeView.class,
                    FsTrees.NOFOLLOW).readAttributes();
            if (!attrs.isDirectory()) {
                level.dir.deleteFile(name); // unlinkat(2): a link itself, never its target
                continue;
            }
            if (levels.size() >= REMOVE_DEPTH_MAX) {
                throw new FsFailure(36, what + ": the tree is more than " + REMOVE_DEPTH_MAX
                        + " directories deep (os error 36)");
            }
            FsTreeLevel child = FsTreeLevel.open(FsTrees.at(level.fd, name), name, what, budget,
                    FsTreeLevel.OWN_DESCRIPTORS);
            if (child == null) {
                level.dir.deleteFile(name); // no longer a directory: a link or a file now, removed as one
            } else {
                levels.push(child);
            }
        } while (!slice.over());
        return false;
    }

    /** Every directory still open. */
    @Override
    public void close() {
        while (!levels.isEmpty()) {
            levels.pop().close();
        }
    }

    /** rmdir of an emptied directory by its name in {@code parent}; a link or file put there since is removed as one. */
    private static void deleteEmptied(SecureDirectoryStream<Path> parent, Path name) throws IOException {
        try {
            parent.deleteDirectory(name);
        } catch (java.nio.file.FileSystemException e) {
            if (FsErrors.errno(e) != FsFailure.ENOTDIR) {
                throw e;
            }
            parent.deleteFile(name);
        }
    }
}
