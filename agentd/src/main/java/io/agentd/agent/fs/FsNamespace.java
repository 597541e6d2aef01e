package io.agentd.agent.fs;

import io.agentd.protocol.HostText;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;

/**
 * The ops that make, move, copy and remove names: Symlink, Mkdir, Remove, RemoveDir, Copy, Rename.
 * For a request with a user, each acts on its names in the directories above them, opened without a
 * magic link ({@link NoMagicLinks}).
 */
final class FsNamespace {
    /**
     * What a Copy holds open while it is under way, taken from the handles' budget
     * ({@link FsHandleBudget#take}): the directories above src and dst, and the file being copied
     * and its temporary file. A Copy gives its worker back between slices, so every Copy of every
     * connection in progress holds them at once, not only the two that a worker runs.
     */
    static final int COPY_DESCRIPTORS = 4;

    private FsNamespace() {}

    /** Symlink: a link made in its directory, its target stored as given. */
    static FsResponse symlink(FsOp.Symlink o) throws FsFailure {
        Path link = FsPaths.absolute("link_path", o.linkPath());
        FsPaths.DirectoryName slash = FsPaths.directoryName("link_path", o.linkPath());
        if (slash != null) { // a link is no directory; symlink(2)'s answer
            try (NoMagicLinks.Above above = NoMagicLinks.Above.open(link)) {
                if (above.opened()) { // else nothing is there that this request could see
                    slash.check(above.name());
                }
            }
            throw new FsFailure(FsFailure.ENOENT, "link_path " + HostText.quote(o.linkPath(), HostText.QUOTE_MAX)
                    + " ends with /: no link is made there: No such file or directory (os error 2)");
        }
        if (o.target().isEmpty() || o.target().indexOf('\0') >= 0) {
            throw new FsFailure(FsFailure.EINVAL, "symlink " + link + ": the target is empty or holds a NUL (os error 22)");
        }
        try {
            // The target is stored as given: a relative target is relative to the link's directory.
            NoMagicLinks.inItsDirectory(link, "symlink " + link,
                    at -> Files.createSymbolicLink(at, Path.of(o.target())));
        } catch (IOException e) {
            throw FsErrors.from(e, "symlink " + link);
        }
        return FsResponse.success(null);
    }

    /** Mkdir: the directory and the missing ones above it ({@link FsMkdirs}). */
    static FsResponse mkdir(FsOp.Mkdir o) throws FsFailure {
        mkdirs(FsPaths.absolute("path", o.path()), FsPaths.directoryName("path", o.path()), o.mode());
        return FsResponse.success(null);
    }

    /** Remove: unlink(2) of a file or a link ({@link #unlink}). */
    static FsResponse remove(FsOp.Remove o) throws FsFailure {
        unlink(FsPaths.absolute("path", o.path()), FsPaths.directoryName("path", o.path()));
        return FsResponse.success(null);
    }

    /** RemoveDir: a directory, or with recursive its whole tree ({@link FsTrees#removeDir}), begun. */
    static FsSlicedWork removeDir(FsOp.RemoveDir o, FsHandleBudget budget) throws FsFailure {
        return FsTrees.removeDir(FsPaths.absolute("path", o.path()), FsPaths.directoryName("path", o.path()),
                o.recursive(), budget);
    }

    /** Copy: a file, a link or a tree ({@link FsTrees#copy}), in the directories above src and dst, begun. */
    static FsSlicedWork copy(FsOp.Copy o, FsHandleBudget budget) throws FsFailure {
        Path src = FsPaths.absolute("src", o.src());
        Path dst = FsPaths.absolute("dst", o.dst());
        String what = "copy " + src + " to " + dst;
        // In the directories above src and dst, opened once, for the agent's own Copy too, and held
        // until its last slice: it acts on the destination's name more than once (its temporary
        // file made, renamed over dst or removed; a tree's top directory made, then opened), and by
        // path a guest user who swapped dst's directory for a link in between had root rename a
        // file of the temporary name there over dst's name there, remove one, or copy a tree into
        // a directory of dst's name there.
        budget.take(COPY_DESCRIPTORS, what);
        NoMagicLinks.Above from = null;
        NoMagicLinks.Above to = null;
        try {
            from = NoMagicLinks.theirDirectory(src, FsPaths.directoryName("src", o.src()), what);
            to = NoMagicLinks.theirDirectory(dst, FsPaths.directoryName("dst", o.dst()), what);
            refuseDirectoryNameForNonDirectory(from.name(), "dst", o.dst());
            NoMagicLinks.Above heldFrom = from;
            NoMagicLinks.Above heldTo = to;
            return FsTrees.copy(from.name(), to.name(), src, dst, budget, () -> {
                heldTo.close();
                heldFrom.close();
                budget.giveBack(COPY_DESCRIPTORS);
            });
        } catch (FsFailure | RuntimeException e) {
            if (to != null) {
                to.close();
            }
            if (from != null) {
                from.close();
            }
            budget.giveBack(COPY_DESCRIPTORS);
            throw e;
        }
    }

    /** Rename: rename(2) in the directories above src and dst, replacing dst. */
    static FsResponse rename(FsOp.Rename o) throws FsFailure {
        Path src = FsPaths.absolute("src", o.src());
        Path dst = FsPaths.absolute("dst", o.dst());
        String what = "rename " + src + " to " + dst;
        NoMagicLinks.inTheirDirectories(src, FsPaths.directoryName("src", o.src()), dst,
                FsPaths.directoryName("dst", o.dst()), what, (from, to) -> {
            refuseDirectoryNameForNonDirectory(from, "dst", o.dst());
            try {
                Files.move(from, to, StandardCopyOption.ATOMIC_MOVE); // rename(2): replaces dst
            } catch (IOException e) {
                throw FsErrors.from(e, what);
            }
            return null;
        });
        return FsResponse.success(null);
    }

    /** A copy or rename of what is not a directory to a name that ends with / (rename(2): ENOTDIR). */
    private static void refuseDirectoryNameForNonDirectory(Path src, String field, String dstText) throws FsFailure {
        if (FsPaths.namesDirectory(dstText) && !Files.isDirectory(src, LinkOption.NOFOLLOW_LINKS)) {
            throw FsPaths.notDirectory(field, dstText);
        }
    }

    private static void mkdirs(Path p, FsPaths.DirectoryName slash, Long mode) throws FsFailure {
        FsMkdirs.make(p, slash, mode == null ? new FileAttribute<?>[0] : new FileAttribute<?>[] {FsAttrs.permissions(mode)});
    }

    /** unlink(2): a file or a link, never a directory (EISDIR, as std::fs::remove_file). */
    private static void unlink(Path p, FsPaths.DirectoryName slash) throws FsFailure {
        NoMagicLinks.inItsDirectory(p, slash, "remove " + p, at -> {
            if (Files.isDirectory(at, LinkOption.NOFOLLOW_LINKS)) {
                throw FsFailure.of(FsFailure.EISDIR, "remove " + p);
            }
            try {
                Files.delete(at);
            } catch (IOException e) {
                throw FsErrors.from(e, "remove " + p);
            }
            return null;
        });
    }
}
