package io.agentd.client.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.AgentException;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** GuestFiles.list of a directory read page by page collects a bounded number of entries. */
@Timeout(60)
class GuestFilesListBoundTest {

    /**
     * An agent that answers List with E2BIG and then ReadDir with pages of 4096 entries, ending only
     * well past the bound (a hostile one need not end at all). Before the bound, list returned them all.
     */
    @Test
    void aDirectoryOfTooManyPagesIsRefusedWithTheLimitNamed() throws Exception {
        int max = 1 << 20; // DirListing.MAX_LIST_ENTRIES (a literal, so that the test compiles without it)
        int pageSize = 4096;
        int pagesSent = max / pageSize + 8;
        List<FsEntryInfo> page = new ArrayList<>();
        for (int i = 0; i < pageSize; i++) {
            page.add(new FsEntryInfo("/big/" + i, FsEntryInfo.FILE, 0, 0100644, 0L, 0, 0, 0L, 0L));
        }
        AtomicInteger pages = new AtomicInteger();
        AtomicInteger closes = new AtomicInteger();
        FsTransport t = pagedAgent(page, pagesSent, pages, closes);
        AgentException e = assertThrows(AgentException.class, () -> GuestFiles.over(t).list("/big"));
        assertTrue(e.getMessage().startsWith("list /big: the agent's pages hold more than 1048576 entries"),
                e.getMessage());
        assertTrue(pages.get() <= max / pageSize + 1, "stopped reading at the bound");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (closes.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(5); // closed aside: the failed listing does not wait for the close
        }
        assertEquals(1, closes.get(), "the handle is closed");
    }

    /**
     * An agent whose pages carry entries with huge kinds (any text decodes there): the kinds count
     * toward the bound. Before, only paths counted, and 4 MiB kinds filled the heap a page at a time.
     */
    @Test
    void hugeKindsCountTowardTheBound() {
        String kind = "k".repeat(1 << 20);
        List<FsEntryInfo> page = List.of(new FsEntryInfo("/a", kind, 0, 0100644, 0L, 0, 0, 0L, 0L));
        AtomicInteger pages = new AtomicInteger();
        FsTransport t = pagedAgent(page, 300, pages, new AtomicInteger());
        AgentException e = assertThrows(AgentException.class, () -> GuestFiles.over(t).list("/k"));
        assertTrue(e.getMessage().contains("characters of paths and kinds"), e.getMessage());
        assertTrue(pages.get() <= 129, "stopped at the bound (128 Mi characters): " + pages.get() + " pages read");
    }

    /**
     * An agent that answers List with E2BIG, then each ReadDir with {@code page} until it has sent
     * {@code pagesSent} (counted in {@code pages}), then an empty page; CloseHandles are counted in
     * {@code closes}.
     */
    private static FsTransport pagedAgent(List<FsEntryInfo> page, int pagesSent, AtomicInteger pages,
            AtomicInteger closes) {
        return new AnsweringTransport((op, l) -> {
            if (op instanceof FsOp.ListDir d) {
                l.onResponse(new FsResponse(false, "list " + d.path() + ": too many (os error 7)", null, 7,
                        "E2BIG", null));
            } else if (op instanceof FsOp.OpenDir) {
                l.onResponse(FsResponse.success(new FsResponseData.Handle(5)));
            } else if (op instanceof FsOp.ReadDir) {
                l.onResponse(FsResponse.success(new FsResponseData.Entries(
                        pages.incrementAndGet() <= pagesSent ? page : List.of())));
            } else {
                if (op instanceof FsOp.CloseHandle) {
                    closes.incrementAndGet();
                }
                l.onResponse(FsResponse.success(null));
            }
        });
    }
}
