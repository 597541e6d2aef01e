package io.agentd.agent.fs;

import io.agentd.protocol.payload.FsOp;

/**
 * The file handle a Write writes to ({@link FsWriteStream}): checked when the Write starts (a file,
 * opened for writing, an offset it may write at), then counted by the handle as a Write in progress
 * ({@link FsHandle.File#writeStarted}) until the Write leaves it, once. Loop thread only.
 */
final class FsWriteTarget {
    private final FsHandle.File file;
    /** {@link #leave} ran. */
    private boolean left;

    private FsWriteTarget(FsHandle.File file) {
        this.file = file;
    }

    /** The handle {@code write} on {@code id} names, checked and counting the Write from now on. */
    static FsWriteTarget of(FsHandles handles, long id, FsOp.Write write) throws FsFailure {
        FsHandle h = handles.get(write.handle(), id);
        if (!(h instanceof FsHandle.File f)) {
            throw FsFailure.of(FsFailure.EISDIR, "write on handle " + Long.toUnsignedString(write.handle())
                    + " (" + h.path + ")");
        }
        if (!f.writable) {
            throw new FsFailure(FsFailure.EBADF, "write " + f.path
                    + ": the handle was not opened for writing (os error 9)");
        }
        // Before the handle counts this Write in progress: refused after, it stayed counted, and
        // the handle's atomic upload was dropped at its close as if a Write were still running.
        FsPositions.check(write.offset(), 0, "write", f.path); // also for a Write of no data
        if (!f.writeStarted()) { // closed since the look-up
            throw new FsFailure(FsFailure.EBADF, "bad handle " + Long.toUnsignedString(write.handle())
                    + " (os error 9)");
        }
        return new FsWriteTarget(f);
    }

    FsHandle.File file() {
        return file;
    }

    /**
     * The Write is over: the handle no longer counts it in progress. After a failure the handle is
     * spoiled first ({@link #spoilAndLeave}), so a CloseHandle that no longer sees the Write sees that.
     */
    void leave() {
        if (!left) {
            left = true;
            file.writeEnded();
        }
    }

    /**
     * The Write ended short of its answer: the handle is spoiled (an atomic upload then leaves its
     * destination unchanged), then left.
     */
    void spoilAndLeave() {
        file.spoil();
        leave();
    }
}
