package io.agentd.agent.fs;

import io.agentd.agent.sys.FileType;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.FsLimits;
import io.agentd.protocol.HostText;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.FsSetAttrs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Every FsOp but Read and Write (streamed by {@link FsTransfers}), run on a worker thread with
 * java.nio.file: its calls are the system calls the reference makes (stat, lstat, chmod, chown,
 * utimensat, symlink, readlink, mkdir, rename, openat, ...), made on the calling thread (so
 * {@link FsCredentials} applies to them), with struct stat read correctly on every architecture.
 */
final class FsOperations {
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    private final FsHandles handles;
    /**
     * Test seam: runs on the worker once an FStat or FSetStat holds the path it acts on and before
     * its system calls, so that a test can close the handle right there.
     */
    volatile Runnable metadataPause = () -> {};
    /**
     * Test seam: runs on the worker once an atomic upload's destination was looked at (is it there,
     * its owner and mode) and before its temporary file is made.
     */
    static volatile Runnable atomicPause = () -> {};
    private final FsMetadata metadata;
    private final FsListing listing;

    FsOperations(FsHandles handles) {
        this.handles = handles;
        this.metadata = new FsMetadata(handles, () -> metadataPause.run());
        this.listing = new FsListing(handles, () -> metadataPause.run());
    }

    FsResponse run(long id, FsOp op) throws FsFailure {
        if (op instanceof FsOp.RealPath o) {
            return metadata.realPath(o);
        } else if (op instanceof FsOp.Stat o) {
            return metadata.stat(o);
        } else if (op instanceof FsOp.SetStat o) {
            return metadata.setStat(o);
        } else if (op instanceof FsOp.ListDir o) {
            return listing.list(o);
        } else if (op instanceof FsOp.ReadLink o) {
            return metadata.readLink(o);
        } else if (op instanceof FsOp.Symlink o) {
            return FsNamespace.symlink(o);
        } else if (op instanceof FsOp.Mkdir o) {
            return FsNamespace.mkdir(o);
        } else if (op instanceof FsOp.Remove o) {
            return FsNamespace.remove(o);
        } else if (op instanceof FsOp.RemoveDir o) {
            return FsNamespace.removeDir(o);
        } else if (op instanceof FsOp.Copy o) {
            return FsNamespace.copy(o);
        } else if (op instanceof FsOp.Rename o) {
            return FsNamespace.rename(o);
        } else if (op instanceof FsOp.OpenFile o) {
            if (FsPaths.namesDirectory(o.path()) && (o.options().create() || o.options().createNew() || o.options().atomic())) {
                // open(2)'s answer: a file is not made under a name that asks for a directory
                throw new FsFailure(FsFailure.EISDIR, "path " + HostText.quote(o.path(), HostText.QUOTE_MAX)
                        + " ends with /: no file is created there: Is a directory (os error 21)");
            }
            Path path = FsPaths.absolute("path", o.path());
            FsPaths.DirectoryName slash = FsPaths.directoryName("path", o.path());
            if (slash != null) {
                throw openOfADirectoryName(path, slash, o.options());
            }
            return FsResponse.success(new FsResponseData.Handle(openFile(id, path, o.options())));
        } else if (op instanceof FsOp.OpenDir o) {
            return FsResponse.success(new FsResponseData.Handle(openDir(id, FsPaths.absolute("path", o.path()),
                    FsPaths.directoryName("path", o.path()))));
        } else if (op instanceof FsOp.CloseHandle o) {
            // Out of the table first (a second CloseHandle is EBADF); close() never waits behind I/O
            // in progress on it, so the handle is always closed by the time this answers.
            handles.remove(o.handle(), id).close();
            return FsResponse.success(null);
        } else if (op instanceof FsOp.ReadDir o) {
            return listing.readDir(id, o);
        } else if (op instanceof FsOp.FStat o) {
            return metadata.fstat(id, o);
        } else if (op instanceof FsOp.FSetStat o) {
            return metadata.fsetStat(id, o);
        }
        throw new FsFailure(FsFailure.EINVAL, op.variant() + " is not run here (os error 22)");
    }

    /** The options of an OpenFile that cannot go together (EINVAL), checked before the file is looked at. */
    private static void checkOptions(Path path, FsOpenOptions o) throws FsFailure {
        boolean write = o.write() || o.append();
        if (!o.read() && !write) {
            throw FsFailure.of(FsFailure.EINVAL, "open " + path + ": neither read nor write");
        }
        if ((o.truncate() || o.create() || o.createNew()) && !write) {
            throw FsFailure.of(FsFailure.EINVAL, "open " + path + ": create and truncate need write");
        }
    }

    /**
     * An OpenFile of a path that ends with / (without create, create_new or atomic, which are EISDIR
     * from the text alone): never a file opened, as open(2) opens none, and the answer is found in
     * the directory above the name, opened once: ENOTDIR when something other than a directory is
     * there ({@link FsPaths.DirectoryName}), EISDIR for a directory (or a link to one), else why it
     * cannot be opened (ENOENT). Looked up by name, the check and the open were two look-ups: a
     * directory there at the check and swapped for a link to a file before the open had the file
     * opened.
     */
    private static FsFailure openOfADirectoryName(Path path, FsPaths.DirectoryName slash, FsOpenOptions o)
            throws FsFailure {
        String what = "open " + path;
        try (NoMagicLinks.Above above = NoMagicLinks.Above.open(path)) {
            if (above.opened()) {
                slash.check(above.name());
            }
            checkOptions(path, o);
            if (!above.opened()) {
                return above.failure(what);
            }
            int fd = NoMagicLinks.open(above.name().toString(), LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC);
            if (fd < 0) {
                return NoMagicLinks.failure(Os.errno(), what);
            }
            Os.libc().close(fd);
            return FsFailure.of(FsFailure.EISDIR, what);
        }
    }

    private long openFile(long id, Path path, FsOpenOptions o) throws FsFailure {
        checkOptions(path, o);
        // A directory is EISDIR from the open itself (FsRegularFiles.open reads the type of what it opened;
        // create_new's O_EXCL says so in the directory it acted in; an atomic upload looks in the
        // directory it works in), not from a look by name first, which for a request with a user
        // followed a link into /proc (so told the user whether a directory the agent held open held
        // a directory of that name).
        long number = handles.nextNumber();
        FsHandle.File handle = o.atomic() ? openAtomic(number, id, path, o) : openInPlace(number, id, path, o);
        try {
            handles.add(handle);
        } catch (FsFailure tooMany) {
            handle.abandon();
            throw tooMany;
        }
        return number;
    }

    private static FsHandle.File openInPlace(long number, long id, Path path, FsOpenOptions o) throws FsFailure {
        Set<OpenOption> opts = new HashSet<>();
        if (o.read()) {
            opts.add(StandardOpenOption.READ);
        }
        if (o.write() || o.append()) {
            opts.add(StandardOpenOption.WRITE);
        }
        if (o.append()) {
            opts.add(StandardOpenOption.APPEND);
        }
        if (o.truncate()) {
            opts.add(StandardOpenOption.TRUNCATE_EXISTING);
        }
        if (o.createNew()) {
            opts.add(StandardOpenOption.CREATE_NEW);
        } else if (o.create()) {
            opts.add(StandardOpenOption.CREATE);
        }
        try {
            FileChannel ch = FsRegularFiles.open(path, opts, o.mode() == null ? null : FsAttrs.permissions(o.mode()), "open " + path);
            return new FsHandle.File(number, id, path, ch, o.read(), o.write() || o.append(), true, null, o.append());
        } catch (IOException e) {
            throw FsErrors.from(e, "open " + path);
        } catch (IllegalArgumentException e) {
            throw new FsFailure(FsFailure.EINVAL, "open " + path + ": " + e.getMessage() + " (os error 22)");
        }
    }

    /**
     * An atomic upload: the writes go to {@code .NAME.agentd-XXXXXXXX} beside the destination,
     * created O_EXCL, renamed over the destination at the close of a complete upload. The
     * destination is replaced whole, so append is refused; create_new is checked at open. A regular
     * file it replaces passes its owner, group and mode on to it ({@link FsReplacedFile}), read here
     * at the open; {@code mode} is for a file it creates.
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
    private static FsHandle.File openAtomic(long number, long id, Path path, FsOpenOptions o) throws FsFailure {
        String what = "open " + path;
        try (NoMagicLinks.Above above = NoMagicLinks.Above.open(path)) {
            Path at = above.opened() ? above.name() : null; // the destination's name in its directory
            if (at != null && NoMagicLinks.isDirectory(at) && (o.write() || o.append())) {
                throw FsFailure.of(FsFailure.EISDIR, what);
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
            if (o.createNew() && at != null && Files.exists(at, NOFOLLOW)) {
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

    private long openDir(long id, Path path, FsPaths.DirectoryName slash) throws FsFailure {
        long number = handles.nextNumber();
        FsHandle.Dir dir;
        try {
            dir = new FsHandle.Dir(number, id, path, FsTrees.openDirectoryStream(path, slash, "opendir " + path));
        } catch (IOException e) {
            throw FsErrors.from(e, "opendir " + path);
        }
        try {
            handles.add(dir);
        } catch (FsFailure tooMany) {
            dir.abandon();
            throw tooMany;
        }
        return number;
    }

}
