package io.agentd.agent.fs;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * The fs operations on whole trees, RemoveDir (recursive) and Copy, walked without following a link
 * anywhere below the paths the host named: each directory is opened relative to the one holding
 * it (O_DIRECTORY|O_NOFOLLOW|O_NONBLOCK through /proc/self/fd/N/NAME), its entries typed and
 * removed, read or made relative to it. A guest process can change a tree while the agent, as root,
 * walks it; by full path names, a directory swapped for a link to /etc sent deletes and writes there.
 * The walks are {@link FsTreeRemoval}'s and {@link FsTreeCopy}'s, each directory a {@link FsTreeLevel};
 * a file of a Copy is {@link FsFileCopy}'s. Each is begun here and gone on with a slice at a time
 * ({@link FsSlicedWork}), the directories it acts in held open until it is closed.
 */
final class FsTrees {
    static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};
    /**
     * Test seam: runs on the worker each time a Copy has made something of the destination's (a
     * file's temporary file, a directory of a tree) and before it fills it.
     */
    static volatile Runnable copyPause = () -> {};

    private FsTrees() {}

    /**
     * rmdir of {@code p}, begun; with {@code recursive}, what it holds first ({@link FsTreeRemoval}),
     * a slice at a time. For a request with a user, by its name in the directory above it opened
     * without a magic link ({@link NoMagicLinks#itsDirectory}), held until the work is closed.
     */
    static FsSlicedWork removeDir(Path p, FsPaths.DirectoryName slash, boolean recursive, FsHandleBudget budget)
            throws FsFailure {
        String what = "rmdir " + p;
        budget.take(1, what); // the directory above p, held while it is under way (FsNamespace.COPY_DESCRIPTORS)
        NoMagicLinks.Above above = null;
        FsSlicedWork begun = null;
        try {
            above = NoMagicLinks.itsDirectory(p, slash, what);
            Path at = above.name();
            if (!Files.isDirectory(at, NOFOLLOW)) {
                throw FsFailure.of(Files.exists(at, NOFOLLOW) ? FsFailure.ENOTDIR : FsFailure.ENOENT, what);
            }
            NoMagicLinks.Above held = above;
            begun = new FsSlicedWork(what, FsTreeRemoval.begin(at, p, recursive, budget), () -> {
                held.close();
                budget.giveBack(1);
            });
            return begun;
        } catch (IOException e) {
            throw FsErrors.from(e, what);
        } finally {
            if (begun == null) { // failed: its close will not come
                if (above != null) {
                    above.close();
                }
                budget.giveBack(1);
            }
        }
    }

    /**
     * The one place a tree walk opens a directory: O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_NONBLOCK, so a
     * link at the last name of {@code path} is not followed and a FIFO or device there is not opened
     * (nor waited on). {@code path} is usually {@code /proc/self/fd/N/NAME}, NAME relative to the
     * directory the walk holds open as N. Returns the descriptor, or -1 when that is not a directory
     * (now): a link, a file, a FIFO (ENOTDIR, ELOOP).
     */
    static int openDirectory(String path, String what) throws FsFailure {
        int fd = NoMagicLinks.open(path, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NOFOLLOW
                | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (fd < 0) {
            int errno = Os.errno();
            if (errno == FsFailure.ENOTDIR || errno == FsFailure.ELOOP) {
                return -1;
            }
            throw NoMagicLinks.failure(errno, what);
        }
        return fd;
    }

    /** {@code name} in the directory open as descriptor {@code fd}, as a path the kernel resolves from that directory. */
    static String at(int fd, Path name) {
        return "/proc/self/fd/" + fd + "/" + name;
    }

    /**
     * A file (its bytes and mode) or a directory tree (links copied as links, never followed), from
     * {@code from} to {@code to}, begun: {@code src} and {@code dst} as their names in their
     * directories, each opened once, for a request with a user without a magic link
     * (/proc/self/fd/N/NAME, {@link NoMagicLinks#theirDirectory}; "/" as itself), so that the
     * destination's temporary file is made, renamed and removed, and a tree's top directory made and
     * opened, in the one directory; {@code closeHeld} closes them once the work is closed (not when
     * this fails: the caller does). The messages give {@code src} and {@code dst}.
     */
    static FsSlicedWork copy(Path from, Path to, Path src, Path dst, FsHandleBudget budget, Runnable closeHeld)
            throws FsFailure {
        String what = "copy " + src + " to " + dst;
        try {
            if (!Files.isDirectory(from, NOFOLLOW)) {
                FsFileCopy file = FsFileCopy.begin(from, to, src, dst);
                return new FsSlicedWork(what, file != null ? file : FsSlicedWork.NOTHING_LEFT, closeHeld);
            }
            if (FsTreeCopy.inside(from, to)) {
                throw new FsFailure(FsFailure.EINVAL, what + ": the destination is inside the source (os error 22)");
            }
            return new FsSlicedWork(what, FsTreeCopy.begin(from, to, src, dst, budget), closeHeld);
        } catch (java.nio.file.DirectoryIteratorException e) {
            throw FsErrors.from(e.getCause(), what);
        } catch (IOException e) {
            throw FsErrors.from(e, what);
        }
    }
}
