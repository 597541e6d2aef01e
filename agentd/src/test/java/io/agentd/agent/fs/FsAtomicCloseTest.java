package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.spawn.UserDb;
import io.agentd.agent.transport.HeldIds;
import io.agentd.agent.transport.RecordingHost;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.FsSetAttrs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
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
    private final LinkedBlockingQueue<Runnable> loop = new LinkedBlockingQueue<>();
    private final RecordingHost host = new RecordingHost();
    private final FsWorkers workers = new FsWorkers(2);
    private final FsService fs = new FsService(loop::add, host, new HeldIds(), workers, UserDb.system(),
            FsCredentials.ofAgent(), FsSettings.DEFAULTS);

    @AfterEach
    void stop() {
        workers.shutdown();
    }

    @Test
    void aCloseDuringAnFSetStatCompletesTheUploadWithTheModeSet() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/fs-atomic-close").toAbsolutePath()), "t-");
        Path dest = Files.writeString(dir.resolve("dest"), "old");
        Files.setPosixFilePermissions(dest, PosixFilePermissions.fromString("rw-r--r--"));
        fs.onRequest(1, new FsRequest(new FsOp.OpenFile(dest.toString(),
                new FsOpenOptions(false, true, false, true, false, false, 0644L, true)), null, true));
        long h = ((FsResponseData.Handle) answer(1).data()).handle();
        fs.onRequest(2, new FsRequest(new FsOp.Write(h, 0, 3L, false), null, true));
        fs.onData(2, "new".getBytes());
        fs.onData(2, new byte[0]);
        assertTrue(answer(2).ok());
        CountDownLatch inFSetStat = new CountDownLatch(1);
        CountDownLatch goOn = new CountDownLatch(1);
        fs.pauseMetadataCalls(() -> {
            inFSetStat.countDown();
            try {
                goOn.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });

        fs.onRequest(3, new FsRequest(new FsOp.FSetStat(h, new FsSetAttrs(0600L, null, null, null, null, null)), null, true));
        assertTrue(inFSetStat.await(10, TimeUnit.SECONDS), "the FSetStat is under way");
        fs.onRequest(4, new FsRequest(new FsOp.CloseHandle(h), null, true));
        Thread.sleep(50); // the close reaches the handle while the FSetStat holds it
        goOn.countDown();

        assertTrue(answer(3).ok(), "the FSetStat");
        FsResponse closed = answer(4);
        assertTrue(closed.ok(), closed.toString());
        assertEquals("new", Files.readString(dest), "the upload replaced its destination");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dest)),
                "with the mode the FSetStat set");
        try (var left = Files.list(dir)) {
            assertEquals(1, left.count(), "no temporary file left beside it");
        }
    }

    private FsResponse answer(long id) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            for (var f : host.frames) {
                if (f.id() == id && f.type() == MessageType.FS_RESPONSE) {
                    return (FsResponse) f.payload();
                }
            }
            Runnable task = loop.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (task == null) {
                throw new AssertionError("no answer on id " + id + ": " + host.types());
            }
            task.run();
        }
    }
}
