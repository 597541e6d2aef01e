package io.agentd.client.fs;

import io.agentd.client.AgentException;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A directory with too many entries for one List answer ({@link GuestFiles#list}), read page by
 * page through a handle (OpenDir, ReadDir), within bounds of what it collects.
 */
final class DirListing {
    /**
     * Most entries {@link GuestFiles#list} collects from a directory read page by page (OpenDir, ReadDir): the
     * agent decides how many pages there are, and one that never sent an empty page would fill the heap.
     */
    static final int MAX_LIST_ENTRIES = 1 << 20;
    /**
     * Most characters of those entries' paths and kinds {@link GuestFiles#list} collects (long paths, fewer
     * entries). The kind counts too: the decoder keeps any text there, and an agent's 4 MiB kinds,
     * uncounted, filled the heap a page at a time. Whole paths, as they are held: at 256 Mi one
     * hostile directory (a million 237-character names) took more than 512 MiB of agentctl's heap
     * before cp could refuse it (OutOfMemoryError); at 64 Mi a real one of 500,000 entries under a
     * 120-character path was refused. 128 Mi holds that one, and its worst case, with the names cp
     * takes from it, stays under about 300 MiB.
     */
    static final long MAX_LIST_PATH_CHARS = 128L << 20;

    private DirListing() {}

    /** The entries of the directory {@code path}, by a handle that is closed again whatever happens. */
    static List<FsEntryInfo> byHandle(FsRequests requests, String path) throws IOException {
        long handle = FsAnswers.handleOf(requests.open(new FsOp.OpenDir(path), path), path);
        List<FsEntryInfo> all;
        try {
            all = readPages(requests, handle, path);
        } catch (IOException | RuntimeException e) {
            // Often an interrupt or a timeout: the close must not wait for an agent that may be hung,
            // nor be refused for the interrupt flag, which left the handle open for good.
            requests.closeAside(handle, path);
            throw e;
        }
        requests.closeHandle(handle, path);
        return all;
    }

    private static List<FsEntryInfo> readPages(FsRequests requests, long handle, String path) throws IOException {
        List<FsEntryInfo> all = new ArrayList<>();
        long chars = 0;
        while (true) {
            FsResponse r = requests.call(new FsOp.ReadDir(handle, null), path);
            if (!(r.data() instanceof FsResponseData.Entries page)) {
                throw FsAnswers.unexpected("ReadDir", path, r);
            }
            if (page.entries().isEmpty()) {
                return all;
            }
            for (FsEntryInfo e : page.entries()) {
                chars += (e.path() == null ? 0 : e.path().length()) + (e.kind() == null ? 0 : e.kind().length());
                if (all.size() >= MAX_LIST_ENTRIES || chars > MAX_LIST_PATH_CHARS) {
                    throw new AgentException("list " + path + ": the agent's pages hold more than "
                            + MAX_LIST_ENTRIES + " entries or " + MAX_LIST_PATH_CHARS
                            + " characters of paths and kinds, more than list collects of one directory");
                }
                all.add(e);
            }
        }
    }
}
