package io.agentd.agent.fs;

import io.agentd.protocol.FsLimits;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
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
        try (DirectoryStream<Path> stream = FsDirectoryStreams.open(dir, slash, "list " + dir)) {
            for (Path child : stream) {
                FsEntryInfo info = statOrSkip(child);
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
            try {
                Iterator<Path> it = dir.entries;
                while (entries.size() < max && bytes < LIST_BUDGET_BYTES && it.hasNext()) {
                    pause.run();
                    FsEntryInfo info = statOrSkip(it.next());
                    if (info != null) {
                        bytes += estimate(info);
                        entries.add(info);
                    }
                }
            } catch (java.nio.file.DirectoryIteratorException e) {
                throw FsErrors.from(e.getCause(), "readdir " + dir.path);
            }
            if (dir.isClosed()) {
                // A CloseHandle cut the stream under this ReadDir: its iterator just ends, and an
                // answer of what it had (often nothing) would read as the end of the directory.
                throw new FsFailure(FsFailure.EBADF, "readdir " + dir.path + ": the handle was closed (os error 9)");
            }
        } finally {
            dir.busy.unlock();
        }
        return entries;
    }

    /** An entry that vanished between readdir and lstat is left out, as ls does. */
    private static FsEntryInfo statOrSkip(Path child) throws FsFailure {
        try {
            return FsEntries.stat(child, false);
        } catch (FsFailure f) {
            if (f.errno() == FsFailure.ENOENT) {
                return null;
            }
            throw f;
        }
    }

    /** Upper bound of an entry's encoded size: its path and the fixed keys and values. */
    private static long estimate(FsEntryInfo info) {
        return 3L * info.path().length() + 160;
    }
}
