package io.agentd.agent.fs;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.HostText;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;

/**
 * A handle's start and end in the owner's table ({@link FsHandles}): OpenFile (in place, or an
 * atomic upload: {@link FsAtomicUpload}), OpenDir and CloseHandle.
 */
final class FsOpens {
    private final FsHandles handles;

    FsOpens(FsHandles handles) {
        this.handles = handles;
    }

    /** OpenFile: a regular file opened ({@link FsRegularFiles}) or an atomic upload begun, its handle's number. */
    FsResponse openFile(long id, FsOp.OpenFile o) throws FsFailure {
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
        return FsResponse.success(new FsResponseData.Handle(openedFile(id, path, o.options())));
    }

    /** OpenDir: the directory's entries as a stream a ReadDir takes them from, its handle's number. */
    FsResponse openDir(long id, FsOp.OpenDir o) throws FsFailure {
        return FsResponse.success(new FsResponseData.Handle(openedDir(id, FsPaths.absolute("path", o.path()),
                FsPaths.directoryName("path", o.path()))));
    }

    /** CloseHandle: the handle out of the owner's table and closed. */
    FsResponse closeHandle(long id, FsOp.CloseHandle o) throws FsFailure {
        // Out of the table first (a second CloseHandle is EBADF); close() never waits behind I/O
        // in progress on it, so the handle is always closed by the time this answers.
        handles.remove(o.handle(), id).close();
        return FsResponse.success(null);
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

    private long openedFile(long id, Path path, FsOpenOptions o) throws FsFailure {
        checkOptions(path, o);
        // A directory is EISDIR from the open itself (FsRegularFiles.open reads the type of what it opened;
        // create_new's O_EXCL says so in the directory it acted in; an atomic upload looks in the
        // directory it works in), not from a look by name first, which for a request with a user
        // followed a link into /proc (so told the user whether a directory the agent held open held
        // a directory of that name).
        long number = handles.nextNumber();
        FsHandle.File handle = o.atomic() ? FsAtomicUpload.open(number, id, path, o) : openInPlace(number, id, path, o);
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

    private long openedDir(long id, Path path, FsPaths.DirectoryName slash) throws FsFailure {
        long number = handles.nextNumber();
        FsHandle.Dir dir;
        try {
            dir = new FsHandle.Dir(number, id, FsOpenDirectory.open(path, slash, "opendir " + path));
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
