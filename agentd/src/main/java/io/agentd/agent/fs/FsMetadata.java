package io.agentd.agent.fs;

import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.FsSetAttrs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The metadata ops: RealPath, Stat, SetStat and ReadLink of a host's path, FStat and FSetStat of a
 * handle. A path is looked at, for a request with a user, without following a link into /proc
 * ({@link NoMagicLinks}); a handle's metadata is read and set on the file or directory it has open
 * ({@link #statPath}), held open meanwhile.
 */
final class FsMetadata {
    private final FsHandles handles;
    /** Runs once an FStat or FSetStat holds the path it acts on (the dispatcher's test seam). */
    private final Runnable pause;

    FsMetadata(FsHandles handles, Runnable pause) {
        this.handles = handles;
        this.pause = pause;
    }

    /** RealPath: every link followed, the last one too. */
    FsResponse realPath(FsOp.RealPath o) throws FsFailure {
        Path p = FsPaths.absolute("path", o.path());
        try {
            // Every link followed, the last one too: for a user, from the path opened without a magic link.
            return FsResponse.success(new FsResponseData.Path(NoMagicLinks.followed(p,
                    FsPaths.directoryName("path", o.path()), "realpath " + p, Path::toRealPath).toString()));
        } catch (IOException e) {
            throw FsErrors.from(e, "realpath " + p);
        }
    }

    /** Stat, with or without following a link at the path ({@link #statAsAsked}). */
    FsResponse stat(FsOp.Stat o) throws FsFailure {
        return FsResponse.success(new FsResponseData.Stat(statAsAsked(FsPaths.absolute("path", o.path()),
                FsPaths.directoryName("path", o.path()), o.followSymlink())));
    }

    /** SetStat: the attributes checked ({@link FsAttrs#check}), then applied to the path as asked. */
    FsResponse setStat(FsOp.SetStat o) throws FsFailure {
        Path p = FsPaths.absolute("path", o.path());
        FsPaths.DirectoryName slash = FsPaths.directoryName("path", o.path());
        if (slash == null) {
            FsAttrs.check(p, o.attrs());
        } else { // after the path's check, as before it was made where the operation acts
            slash = slash.then(() -> FsAttrs.check(p, o.attrs()));
        }
        setAttrsAsAsked(p, slash, o.followSymlink(), o.attrs());
        return FsResponse.success(null);
    }

    /** ReadLink: the link's target as stored, read in the link's directory. */
    FsResponse readLink(FsOp.ReadLink o) throws FsFailure {
        Path p = FsPaths.absolute("path", o.path());
        try {
            return FsResponse.success(new FsResponseData.Path(NoMagicLinks.inItsDirectory(p,
                    FsPaths.directoryName("path", o.path()), "readlink " + p, Files::readSymbolicLink).toString()));
        } catch (IOException e) {
            throw FsErrors.from(e, "readlink " + p);
        }
    }

    /** FStat: the handle's open file or directory ({@link #statPath}), held open while it is read. */
    FsResponse fstat(long id, FsOp.FStat o) throws FsFailure {
        FsHandle h = handles.get(o.handle(), id);
        Path open = holdStatPath(h, o.handle());
        try {
            pause.run();
            return FsResponse.success(new FsResponseData.Stat(FsEntries.stat(open, h.path, true)));
        } finally {
            h.dropDescriptor();
        }
    }

    /**
     * FSetStat: as SetStat, on the handle's open file or directory; a file handle's size is set
     * through its channel, and a directory handle takes no size (EISDIR, nothing else set).
     */
    FsResponse fsetStat(long id, FsOp.FSetStat o) throws FsFailure {
        FsHandle h = handles.get(o.handle(), id);
        FsAttrs.check(h.path, o.attrs());
        if (o.attrs().size() != null && h instanceof FsHandle.Dir) {
            throw FsFailure.of(FsFailure.EISDIR, "truncate " + h.path);
        }
        h.busy.lock();
        try {
            Path open = holdStatPath(h, o.handle());
            try {
                pause.run();
                if (o.attrs().size() != null && h instanceof FsHandle.File f) {
                    FsAttrs.resize(f.channel, o.attrs().size(), h.path, f.writable);
                    FsAttrs.apply(open, h.path, true, new FsSetAttrs(o.attrs().mode(), o.attrs().uid(),
                            o.attrs().gid(), null, o.attrs().atime(), o.attrs().mtime()));
                } else {
                    FsAttrs.apply(open, h.path, true, o.attrs());
                }
            } finally {
                h.dropDescriptor();
            }
        } finally {
            h.busy.unlock();
        }
        return FsResponse.success(null);
    }

    /**
     * Stat of a host's path; for a request with a user, no link into /proc followed (NoMagicLinks):
     * with its links followed, none on the way; without (lstat), none in the directories above it.
     */
    private static FsEntryInfo statAsAsked(Path p, FsPaths.DirectoryName slash, boolean follow) throws FsFailure {
        if (!follow) {
            return NoMagicLinks.inItsDirectory(p, slash, "lstat " + p, at -> FsEntries.stat(at, p, false));
        }
        return NoMagicLinks.followed(p, slash, "stat " + p, at -> FsEntries.stat(at, p, true));
    }

    /** SetStat of a host's path; for a request with a user, no link into /proc followed, as {@link #statAsAsked}. */
    private static void setAttrsAsAsked(Path p, FsPaths.DirectoryName slash, boolean follow, FsSetAttrs a)
            throws FsFailure {
        if (!follow) {
            NoMagicLinks.inItsDirectory(p, slash, "setstat " + p, at -> {
                FsAttrs.apply(at, p, false, a);
                return null;
            });
            return;
        }
        NoMagicLinks.followed(p, slash, "setstat " + p, at -> {
            FsAttrs.apply(at, p, true, a);
            return null;
        });
    }

    /**
     * {@link #statPath}, its descriptor held open until {@link FsHandle#dropDescriptor}: a
     * CloseHandle (or the owner's end) meanwhile closes it only then, so the number never names
     * another file while the FStat or FSetStat acts on it. EBADF when the handle closed since the
     * look-up.
     */
    private static Path holdStatPath(FsHandle h, long number) throws FsFailure {
        if (!h.holdDescriptor()) { // closed since the look-up
            throw new FsFailure(FsFailure.EBADF, "bad handle " + Long.toUnsignedString(number) + " (os error 9)");
        }
        return statPath(h);
    }

    /**
     * Where a handle's metadata is read and set: the file or directory it has open
     * ({@link FsHandle#descriptorPath}), an atomic upload's temporary file included; by its name only
     * where the JDK does not tell a channel's descriptor.
     */
    private static Path statPath(FsHandle h) {
        Path open = h.descriptorPath();
        if (open != null) {
            return open;
        }
        return h instanceof FsHandle.File f && f.temp != null ? f.temp : h.path;
    }
}
