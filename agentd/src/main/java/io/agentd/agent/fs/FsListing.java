package io.agentd.agent.fs;

import io.agentd.protocol.FsLimits;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A directory's entries: ListDir answers them all at once, ReadDir a part at a time from an OpenDir
 * handle; each answer stays inside one frame ({@link #LIST_BUDGET_BYTES}).
 */
final class FsListing {
    /** A List or ReadDir answer stops growing near this many bytes, well inside one frame. */
    static final int LIST_BUDGET_BYTES = 3 * 1024 * 1024;
    /** Most entries one ReadDir answers, whatever its limit. */
    static final int READ_DIR_MAX = 4096;

    private final FsHandles handles;
    /** Runs before each entry a ReadDir takes (the dispatcher's test seam). */
    private final Runnable pause;

    FsListing(FsHandles handles, Runnable pause) {
        this.handles = handles;
        this.pause = pause;
    }

    /** ListDir: every entry of the directory, or E2BIG past {@link #LIST_BUDGET_BYTES}. */
    FsResponse list(FsOp.ListDir o) throws FsFailure {
        return FsResponse.success(new FsResponseData.Entries(entriesOf(FsPaths.absolute("path", o.path()),
                FsPaths.directoryName("path", o.path()))));
    }

    /** ReadDir: the next entries of an OpenDir handle, at most its limit and {@link #READ_DIR_MAX}. */
    FsResponse readDir(long id, FsOp.ReadDir o) throws FsFailure {
        return FsResponse.success(new FsResponseData.Entries(nextEntries(id, o.handle(), o.limit())));
    }

    private static List<FsEntryInfo> entriesOf(Path dir, FsPaths.DirectoryName slash) throws FsFailure {
        List<FsEntryInfo> entries = new ArrayList<>();
        long bytes = 0;
        try (FsOpenDirectory opened = FsOpenDirectory.open(dir, slash, "list " + dir)) {
            while (opened.hasNext()) {
                FsEntryInfo info = opened.nextEntry();
                if (info == null) {
                    continue;
                }
                bytes += estimate(info);
                if (bytes > LIST_BUDGET_BYTES) {
                    throw new FsFailure(FsFailure.E2BIG, "list " + dir + ": more than " + entries.size()
                            + " entries, too many for one answer: use OpenDir and ReadDir (os error 7)");
                }
                entries.add(info);
            }
        } catch (IOException e) {
            throw FsErrors.from(e, "list " + dir);
        } catch (java.nio.file.DirectoryIteratorException e) {
            throw FsErrors.from(e.getCause(), "list " + dir);
        }
        return entries;
    }

    private List<FsEntryInfo> nextEntries(long id, long number, Long limit) throws FsFailure {
        FsHandle h = handles.get(number, id);
        if (!(h instanceof FsHandle.Dir dir)) {
            throw FsFailure.of(FsFailure.ENOTDIR, "readdir on handle " + Long.toUnsignedString(number) + " (" + h.path + ")");
        }
        if (limit != null && limit == 0) {
            // An empty list is the end of the directory (PROTOCOL.md): answering one for a limit of 0
            // would tell the host a directory with entries left is done.
            throw FsFailure.of(FsFailure.EINVAL, "readdir on handle " + Long.toUnsignedString(number)
                    + " with a limit of 0 entries");
        }
        long max = Math.min(limit == null ? FsLimits.READ_DIR_DEFAULT : limit, READ_DIR_MAX);
        List<FsEntryInfo> entries = new ArrayList<>();
        long bytes = 0;
        dir.busy.lock();
        try {
            // The entries are looked at through the directory's descriptor by its number: held open
            // meanwhile, so that a CloseHandle now cannot give the number to another file.
            if (!dir.holdDescriptor()) {
                throw closedUnder(dir);
            }
            try {
                while (entries.size() < max && bytes < LIST_BUDGET_BYTES && dir.directory.hasNext()) {
                    pause.run();
                    FsEntryInfo info = dir.directory.nextEntry();
                    if (info != null) {
                        bytes += estimate(info);
                        entries.add(info);
                    }
                }
            } catch (java.nio.file.DirectoryIteratorException e) {
                throw FsErrors.from(e.getCause(), "readdir " + dir.path);
            } finally {
                dir.dropDescriptor();
            }
            if (dir.isClosed()) {
                // A CloseHandle came during this ReadDir: an answer of what it had would read as
                // the end of the directory, though entries may be left.
                throw closedUnder(dir);
            }
        } finally {
            dir.busy.unlock();
        }
        return entries;
    }

    private static FsFailure closedUnder(FsHandle.Dir dir) {
        return new FsFailure(FsFailure.EBADF, "readdir " + dir.path + ": the handle was closed (os error 9)");
    }

    /** Upper bound of an entry's encoded size: its path and the fixed keys and values. */
    private static long estimate(FsEntryInfo info) {
        return 3L * info.path().length() + 160;
    }
}
