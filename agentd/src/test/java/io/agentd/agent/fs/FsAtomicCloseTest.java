package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.FsSetAttrs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An atomic upload's CloseHandle while an FSetStat on the handle is under way (a host that sets the
 * mode, as cp -a does, and closes without waiting for the answer in between) completes the upload
 * once the FSetStat is done: the destination is replaced, with the mode set. Before (a review), the
 * close took the FSetStat for I/O it had to cut and dropped the complete upload, answering EIO
 * "closed while a Write on the handle was still in progress". Two workers, so that the close runs
 * while the FSetStat is held on the other.
 */
class FsAtomicCloseTest {
    private final OneConnectionFs fs = new OneConnectionFs(Duration.ofSeconds(10), 2, FsSettings.DEFAULTS);

    @AfterEach
    void stop() {
        fs.close();
    }

    private final CountDownLatch inFSetStat = new CountDownLatch(1);
    private final CountDownLatch goOn = new CountDownLatch(1);
    private Path dir;
    private Path dest;

    /** An atomic upload of "new" over "old", written whole; its FSetStat will be held until {@link #goOn}. */
    private long uploadWritten() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/fs-atomic-close").toAbsolutePath()), "t-");
        dest = Files.writeString(dir.resolve("dest"), "old");
        Files.setPosixFilePermissions(dest, PosixFilePermissions.fromString("rw-r--r--"));
        long h = ((FsResponseData.Handle) fs.run(new FsOp.OpenFile(dest.toString(),
                new FsOpenOptions(false, true, false, true, false, false, 0644L, true))).data()).handle();
        long write = fs.send(new FsOp.Write(h, 0, 3L, false), null);
        fs.data(write, "new".getBytes());
        fs.data(write, new byte[0]);
        assertTrue(fs.answer(write).ok());
        fs.service().pauseMetadataCalls(() -> {
            inFSetStat.countDown();
            try {
                goOn.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        return h;
    }

    /**
     * One stuck (on a hung mount, say) is not waited for past a second: the close cuts the upload as
     * before, so that it holds no worker of its own beside the stuck one.
     */
    @Test
    void aCloseWaitsASecondAtMostForAnFSetStatThatDoesNotEnd() throws Exception {
        long h = uploadWritten();
        long set = fs.send(new FsOp.FSetStat(h, new FsSetAttrs(0600L, null, null, null, null, null)), null);
        assertTrue(inFSetStat.await(10, TimeUnit.SECONDS), "the FSetStat is under way");

        FsResponse closed = fs.answer(fs.send(new FsOp.CloseHandle(h), null)); // while the FSetStat still hangs

        assertEquals(FsFailure.EIO, closed.errno(), closed.toString());
        goOn.countDown();
        fs.answer(set);
        assertEquals("old", Files.readString(dest), "the destination is left as it was");
    }

    @Test
    void aCloseDuringAnFSetStatCompletesTheUploadWithTheModeSet() throws Exception {
        long h = uploadWritten();

        long set = fs.send(new FsOp.FSetStat(h, new FsSetAttrs(0600L, null, null, null, null, null)), null);
        assertTrue(inFSetStat.await(10, TimeUnit.SECONDS), "the FSetStat is under way");
        long close = fs.send(new FsOp.CloseHandle(h), null);
        Thread.sleep(50); // the close reaches the handle while the FSetStat holds it
        goOn.countDown();

        assertTrue(fs.answer(set).ok(), "the FSetStat");
        FsResponse closed = fs.answer(close);
        assertTrue(closed.ok(), closed.toString());
        assertEquals("new", Files.readString(dest), "the upload replaced its destination");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dest)),
                "with the mode the FSetStat set");
        try (var left = Files.list(dir)) {
            assertEquals(1, left.count(), "no temporary file left beside it");
        }
    }
}
