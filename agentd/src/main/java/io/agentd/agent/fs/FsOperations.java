package io.agentd.agent.fs;

import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;

/**
 * Every FsOp but Read and Write (streamed by {@link FsReadStream} and {@link FsWriteStream}), run on
 * a worker thread with java.nio.file: its calls are the system calls the reference makes (stat,
 * lstat, chmod, chown, utimensat, symlink, readlink, mkdir, rename, openat, ...), made on the calling
 * thread (so {@link FsCredentials} applies to them), with struct stat read correctly on every
 * architecture.
 *
 * <p>This class only hands each op to the class that runs it: {@link FsMetadata} (RealPath, Stat,
 * SetStat, ReadLink, FStat, FSetStat; attributes checked and applied by {@link FsAttrs}),
 * {@link FsListing} (ListDir, ReadDir), {@link FsNamespace} (Symlink, Mkdir, Remove, RemoveDir,
 * Copy, Rename; RemoveDir and Copy begun here and gone on with a slice at a time by
 * {@link FsSlicedRequest}), {@link FsOpens} (OpenFile, OpenDir, CloseHandle; a regular file opened by
 * {@link FsRegularFiles}, an atomic upload by {@link FsAtomicUpload}).
 */
final class FsOperations {
    /**
     * Test seam: runs on the worker once an FStat or FSetStat holds the path it acts on and before
     * its system calls, and before each entry a ReadDir takes, so that a test can close the handle
     * right there.
     */
    volatile Runnable metadataPause = () -> {};
    private final FsMetadata metadata;
    private final FsListing listing;
    private final FsOpens opens;
    /** What a tree walk's open directories take descriptors from: the handles' budget. */
    private final FsHandleBudget walkBudget;

    FsOperations(FsHandles handles) {
        this.walkBudget = handles.budget();
        this.metadata = new FsMetadata(handles, () -> metadataPause.run());
        this.listing = new FsListing(handles, () -> metadataPause.run());
        this.opens = new FsOpens(handles);
    }

    /**
     * Whether {@code op} is begun here ({@link #begin}) and gone on with a slice at a time
     * ({@link FsSlicedRequest}) rather than {@link #run} in one task: a Copy and a RemoveDir, which
     * last as long as the file or tree they walk.
     */
    static boolean sliced(FsOp op) {
        return op instanceof FsOp.Copy || op instanceof FsOp.RemoveDir;
    }

    /** A Copy or RemoveDir checked and begun: what its slices go on with. */
    FsSlicedWork begin(FsOp op) throws FsFailure {
        if (op instanceof FsOp.RemoveDir o) {
            return FsNamespace.removeDir(o, walkBudget);
        } else if (op instanceof FsOp.Copy o) {
            return FsNamespace.copy(o, walkBudget);
        }
        throw new FsFailure(FsFailure.EINVAL, op.variant() + " is not begun here (os error 22)");
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
        } else if (op instanceof FsOp.Rename o) {
            return FsNamespace.rename(o);
        } else if (op instanceof FsOp.OpenFile o) {
            return opens.openFile(id, o);
        } else if (op instanceof FsOp.OpenDir o) {
            return opens.openDir(id, o);
        } else if (op instanceof FsOp.CloseHandle o) {
            return opens.closeHandle(id, o);
        } else if (op instanceof FsOp.ReadDir o) {
            return listing.readDir(id, o);
        } else if (op instanceof FsOp.FStat o) {
            return metadata.fstat(id, o);
        } else if (op instanceof FsOp.FSetStat o) {
            return metadata.fsetStat(id, o);
        }
        throw new FsFailure(FsFailure.EINVAL, op.variant() + " is not run here (os error 22)");
    }
}
