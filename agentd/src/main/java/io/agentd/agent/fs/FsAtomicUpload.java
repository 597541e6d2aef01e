package io.agentd.agent.fs;

import io.agentd.agent.sys.FileType;
import io.agentd.protocol.payload.FsOpenOptions;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/**
 * An atomic upload: the writes go to {@code .NAME.agentd-XXXXXXXX} beside the destination,
 * created O_EXCL, renamed over the destination at the close of a complete upload. The
 * destination is replaced whole, so append is refused; create_new is checked at open. A regular
 * file it replaces passes its owner, group and mode on to it ({@link FsReplacedFile}), read here
 * at the open; the options' {@code mode} is for a file it creates.
 *
 * <p>All of it happens in one directory, the destination's, opened here once (O_PATH; for a
 * request with a user without a magic link) and held by the handle: the checks (is the
 * destination a directory, is it there), the old file's owner and mode, the temporary file, and
 * at the close its rename over the destination or its removal ({@link FsHandle.File#release}),
 * each on the name in that directory (/proc/self/fd/D/NAME). By name, a guest user who may
 * change a directory on the way could swap it for a link meanwhile: the owner was read from one
 * file and given to the upload that replaced another (the agent's upload to a user's file,
 * with the directory swapped for a link to root's, left root's file of that name the user's),
 * a complete upload renamed a file of the temporary name over the destination's name in the
 * directory the link led to, and one dropped at the connection's end removed, as root, a file
 * of the temporary name there. The destination is there if it opens (O_PATH, with the
 * request's rights: the JDK's Files.exists asked access(2), which checks the real uid, root's,
 * so a user's upload without create told whether a name in a directory the user cannot search
 * existed, ENOENT or EACCES); a directory it cannot open is answered as before: ENOENT without
 * create (EACCES when it may not be searched), else why it cannot be opened.
 */
final class FsAtomicUpload {
    /**
     * Test seam: runs on the worker once an atomic upload's destination was looked at (is it there,
     * its owner and mode) and before its temporary file is made.
     */
    static volatile Runnable atomicPause = () -> {};

    private FsAtomicUpload() {}

    /** Opens the upload to {@code path}: its temporary file, made in the destination's directory, which the handle holds. */
    static FsHandle.File open(long number, long id, Path path, FsOpenOptions o) throws FsFailure {
        String what = "open " + path;
        try (NoMagicLinks.Above above = NoMagicLinks.Above.open(path)) {
            Path at = above.opened() ? above.name() : null; // the destination's name in its directory
            if (at != null && NoMagicLinks.isDirectory(at) && (o.write() || o.append())) {
                throw FsFailure.of(FsFailure.EISDIR, what);
            }
            if (at != null) {
                refuseSpecialFile(at, what);
            }
            if (o.append() || !o.write()) {
                throw new FsFailure(FsFailure.EINVAL, what
                        + ": atomic needs write and replaces the file whole, so it takes no append (os error 22)");
            }
            if (!o.create() && !o.createNew()) {
                int missing = at == null ? above.errno() : NoMagicLinks.lookUp(at);
                if (missing == FsFailure.EACCES) { // the user may not look there (nor make the file there)
                    throw FsFailure.of(FsFailure.EACCES, what + " (the atomic upload's temporary file)");
                }
                if (missing != 0) {
                    throw FsFailure.of(FsFailure.ENOENT, what);
                }
            }
            if (o.createNew() && at != null && Files.exists(at, LinkOption.NOFOLLOW_LINKS)) {
                throw FsFailure.of(FsFailure.EEXIST, what);
            }
            if (path.getParent() == null || path.getFileName() == null) {
                throw FsFailure.of(FsFailure.EISDIR, what);
            }
            if (path.getFileName().toString().getBytes(StandardCharsets.UTF_8).length > FsTempNames.NAME_MAX) {
                // Said now: the temporary name is cut to fit, so only the rename at CloseHandle, after
                // every byte was sent, would find the destination's name too long.
                throw FsFailure.of(FsFailure.ENAMETOOLONG, what);
            }
            if (at == null) {
                throw above.failure(what + " (the atomic upload's temporary file)");
            }
            Set<OpenOption> opts = Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW);
            if (o.read()) {
                opts = Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW);
            }
            FsReplacedFile replaced = FsReplacedFile.at(at);
            atomicPause.run();
            FsTempNames.Created temp;
            try {
                // Over an existing file: private until it has the old file's owner and mode.
                temp = replaced != null ? FsTempNames.create(at, opts, FsAttrs.permissions(0600))
                        : o.mode() != null ? FsTempNames.create(at, opts, FsAttrs.permissions(o.mode()))
                        : FsTempNames.create(at, opts);
            } catch (IOException e) {
                throw FsErrors.from(e, what + " (the atomic upload's temporary file)");
            }
            if (replaced != null) {
                takeOver(replaced, temp.path(), temp.channel(), path);
            }
            // temp.path() is /proc/self/fd/D/.NAME.agentd-XXXXXXXX: the handle holds D from here on.
            return new FsHandle.File(number, id, path, temp.channel(), o.read(), true, true, temp.path(), above.take());
        }
    }

    /**
     * A FIFO, socket or device at the destination is refused as OpenFile in place refuses it
     * ({@link FsRegularFiles}): the rename would replace it with a regular file (`agentctl cp f
     * :/dev/null` left the guest's /dev/null a regular file). A link there is not looked through: the
     * upload replaces the link, as it always has.
     */
    private static void refuseSpecialFile(Path at, String what) throws FsFailure {
        int mode;
        try {
            mode = (Integer) Files.getAttribute(at, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException | UnsupportedOperationException e) {
            return; // nothing there (or nothing readable): the upload creates the file
        }
        int type = FileType.of(mode);
        if (type != FileType.S_IFREG && type != FileType.S_IFLNK && type != FileType.S_IFDIR) {
            throw FsRegularFiles.notARegularFile(what, mode);
        }
    }

    /** The old file's owner and mode onto the new temporary file; on failure, no temporary file is left. */
    private static void takeOver(FsReplacedFile replaced, Path temp, FileChannel ch, Path path) throws FsFailure {
        try {
            replaced.applyTo(ch);
        } catch (FsFailure e) {
            try {
                ch.close();
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // the temp name is ours alone; nothing else to do
            }
            throw new FsFailure(e.errno(), "atomic upload to " + path + ": giving its temporary file the mode of the old file: "
                    + e.getMessage());
        }
    }
}
