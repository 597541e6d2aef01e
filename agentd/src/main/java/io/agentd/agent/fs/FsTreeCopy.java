package io.agentd.agent.fs;

import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;

/**
 * A tree Copy's walk ({@link FsTrees#copy}): a directory's tree copied into another without
 * following a link below either, a slice at a time (the walk's place kept here between slices: the
 * directories open on the way down, and a file's copy under way), and the check that the
 * destination is not inside the source.
 */
final class FsTreeCopy implements FsSlicedWork.Steps {
    /**
     * How deep a tree Copy goes: each level holds four descriptors while it is copied (the source
     * directory's three, as a RemoveDir level, and the destination directory's one), so at most the
     * same 6,144 as a RemoveDir (and the two directories above src and dst); deeper is ENAMETOOLONG.
     */
    static final int COPY_DEPTH_MAX = 1536;

    private final String what;
    private final FsHandleBudget budget;
    /** The directories open on the way down, the deepest first. */
    private final ArrayDeque<CopyLevel> levels = new ArrayDeque<>();
    /** The file being copied (its temporary file made), between slices; null between files. */
    private FsFileCopy file;

    private FsTreeCopy(String what, FsHandleBudget budget) {
        this.what = what;
        this.budget = budget;
    }

    /**
     * Begins to copy directory {@code src} (at {@code srcAt}) into directory {@code dst} (at {@code dstAt};
     * created if missing; an existing directory is copied into) without following a link anywhere
     * below either. Both sides are walked relative to descriptors, never by a path from the top:
     * each source directory is opened
     * O_NOFOLLOW|O_DIRECTORY relative to the one holding it ({@link FsTrees#openDirectory}), its entries
     * typed without following (fstatat) and read relative to it; each destination directory is made
     * by mkdir relative to the destination directory above it (mkdir never follows a link at its
     * last name: EEXIST) and then opened O_NOFOLLOW|O_DIRECTORY, and the files and links are made
     * in it relative to its descriptor. By full path, a guest process that swapped {@code dst/sub},
     * just created, for a link to /etc made the agent, as root, delete and replace /etc's files;
     * one that swapped {@code src/sub} for a link made it copy what the link names. Now the walk
     * goes on in the directories it holds open; a source directory that became a link or a file
     * before it was opened is copied as what it is now (a link as a link).
     */
    static FsTreeCopy begin(Path srcAt, Path dstAt, Path src, Path dst, FsHandleBudget budget)
            throws IOException, FsFailure {
        FsTreeCopy walk = new FsTreeCopy("copy " + src + " to " + dst, budget);
        FsTreeLevel top = FsTreeLevel.open(srcAt.toString(), null, walk.what, budget, CopyLevel.DESCRIPTORS);
        if (top == null) { // swapped for a link or a file since the check
            throw FsFailure.of(FsFailure.ENOTDIR, walk.what);
        }
        walk.levels.push(CopyLevel.open(top, dstAt.toString(), src, dst, walk.what));
        return walk;
    }

    /** Entries (a file's bytes a slice at a time) until the tree is copied (true) or {@code slice} is over. */
    @Override
    public boolean goOn(FsSlice slice) throws IOException, FsFailure {
        do {
            if (file != null) {
                if (!file.goOn(slice)) {
                    return false;
                }
                file.close();
                file = null;
                continue;
            }
            if (levels.isEmpty()) {
                return true;
            }
            CopyLevel level = levels.peek();
            if (!level.from.entries.hasNext()) {
                levels.pop().close();
                continue;
            }
            FsStop.check(what);
            Path name = level.from.entries.next().getFileName();
            Path shownFrom = level.shownFrom.resolve(name.toString());
            Path shownTo = level.shownTo.resolve(name.toString());
            Path from = Path.of(FsTrees.at(level.from.fd, name));
            Path to = Path.of(FsTrees.at(level.to, name));
            BasicFileAttributes attrs = level.from.dir.getFileAttributeView(name, BasicFileAttributeView.class,
                    FsTrees.NOFOLLOW).readAttributes();
            if (!attrs.isDirectory()) {
                file = FsFileCopy.begin(from, to, shownFrom, shownTo);
                continue;
            }
            if (levels.size() >= COPY_DEPTH_MAX) {
                throw new FsFailure(36, what + ": the tree is more than " + COPY_DEPTH_MAX
                        + " directories deep (os error 36)");
            }
            FsTreeLevel child = FsTreeLevel.open(from.toString(), name, what, budget, CopyLevel.DESCRIPTORS);
            if (child == null) { // no longer a directory: a link or a file now, copied as one
                file = FsFileCopy.begin(from, to, shownFrom, shownTo);
                continue;
            }
            levels.push(CopyLevel.open(child, to.toString(), shownFrom, shownTo, what));
        } while (!slice.over());
        return false;
    }

    /** The file under way (its temporary file removed) and every directory still open. */
    @Override
    public void close() {
        if (file != null) {
            file.close();
            file = null;
        }
        while (!levels.isEmpty()) {
            levels.pop().close();
        }
    }

    /** One directory of a tree Copy: the source directory open (a {@link FsTreeLevel}) and the destination one's descriptor. */
    private static final class CopyLevel implements AutoCloseable {
        /** The source level's own and the destination directory's one, taken with the source level. */
        static final int DESCRIPTORS = FsTreeLevel.OWN_DESCRIPTORS + 1;

        final FsTreeLevel from;
        final int to;
        /** The paths the messages give for the two (never read by). */
        final Path shownFrom;
        final Path shownTo;

        private CopyLevel(FsTreeLevel from, int to, Path shownFrom, Path shownTo) {
            this.from = from;
            this.to = to;
            this.shownFrom = shownFrom;
            this.shownTo = shownTo;
        }

        /**
         * {@code from} with the destination directory at {@code to} (a path, or /proc/self/fd/N/NAME):
         * made there unless a directory is there already, then opened without following a link; a
         * link or anything else there is EEXIST, as mkdir's. {@code from} is closed on failure.
         */
        static CopyLevel open(FsTreeLevel from, String to, Path shownFrom, Path shownTo, String what)
                throws IOException, FsFailure {
            try {
                try {
                    Files.createDirectory(Path.of(to)); // mkdir(2): a link at the last name is EEXIST, not followed
                } catch (FileAlreadyExistsException there) {
                    // a directory there is copied into; anything else is refused just below
                }
                FsTrees.copyPause.run();
                int fd = FsTrees.openDirectory(to, what);
                if (fd < 0) {
                    throw FsFailure.of(FsFailure.EEXIST, what);
                }
                return new CopyLevel(from, fd, shownFrom, shownTo);
            } catch (IOException | FsFailure | RuntimeException e) {
                from.close();
                throw e;
            }
        }

        @Override
        public void close() {
            from.close();
            Os.libc().close(to);
        }
    }

    /**
     * Whether {@code dst} is {@code src} or below it, on the file system, not in the text: each is
     * its name in the directory the Copy holds open for it (/proc/self/fd/N/NAME), and that
     * directory's path is the kernel's own for the descriptor (readlink of /proc/self/fd/N: the links
     * on the way, "." and ".." resolved when it was opened). A lexical check let "/w/./s/d" or a link
     * into /w/s through, and the walk then copied the tree into itself until ENAMETOOLONG, some 2,000
     * times over. NAME itself is not followed, nor looked up: a link at dst is EEXIST and one at src
     * is copied as a link whatever they name. Before, dst was looked up by path (its nearest existing
     * ancestor, then its real path): "exists" was the JDK's Files.exists, which asks access(2), which
     * checks the real uid, root's, and the real path followed a link at dst with a user's rights, so
     * a user's tree Copy to a link the user made into a directory the user cannot search answered
     * EACCES when the name there existed and EEXIST when it did not.
     */
    static boolean inside(Path src, Path dst) throws IOException {
        return whereItIs(dst).startsWith(whereItIs(src));
    }

    private static final Path OWN_DESCRIPTORS = Path.of("/proc/self/fd");

    /**
     * The path of {@code at}, /proc/self/fd/N/NAME, as NAME in the directory N holds; any other (the
     * root, which has no directory above it) as it is.
     */
    private static Path whereItIs(Path at) throws IOException {
        Path dir = at.getParent();
        if (dir == null || at.getFileName() == null || !OWN_DESCRIPTORS.equals(dir.getParent())) {
            return at.normalize();
        }
        return Files.readSymbolicLink(dir).resolve(at.getFileName().toString()).normalize();
    }
}
