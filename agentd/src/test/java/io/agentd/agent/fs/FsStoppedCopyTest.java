package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.spawn.UserDb;
import io.agentd.agent.transport.HeldIds;
import io.agentd.agent.transport.RecordingHost;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A Copy whose host is gone stops at its next chunk or entry ({@link FsStop}) and gives its worker
 * back, leaving no destination file. Before (a review), it ran to the end of its source with nobody
 * to answer: a file a session keeps appending to, or /proc/1/pagemap, held one of the agent's few
 * workers, shared by every host's fs requests, for good. The Copy is held at its first step by the
 * test seam while its host goes; one worker, so a later request's answer says the worker is free.
 */
class FsStoppedCopyTest {
    private final LinkedBlockingQueue<Runnable> loop = new LinkedBlockingQueue<>();
    private final RecordingHost host = new RecordingHost();
    private final FsWorkers workers = new FsWorkers(1);
    private final FsService fs = new FsService(loop::add, host, new HeldIds(), workers, UserDb.system(),
            FsCredentials.ofAgent(), FsSettings.DEFAULTS);
    private final CountDownLatch copying = new CountDownLatch(1);
    private final CountDownLatch goOn = new CountDownLatch(1);
    private Path dir;

    @BeforeEach
    void files() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/fs-stopped-copy").toAbsolutePath()), "t-");
        FsTrees.copyPause = () -> {
            copying.countDown();
            try {
                goOn.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    @AfterEach
    void stop() {
        FsTrees.copyPause = () -> {};
        goOn.countDown();
        workers.shutdown();
    }

    @Test
    void aFileCopyStopsWhenItsHostGoes() throws Exception {
        Path src = dir.resolve("src");
        byte[] bytes = new byte[1 << 20]; // sixteen of the Copy's chunks, none of them zeros
        new Random(1).nextBytes(bytes);
        Files.write(src, bytes);

        stopWhileCopying(new FsOp.Copy(src.toString(), dir.resolve("dst").toString()));

        assertEquals(List.of("src"), names(dir), "no destination, no temporary file left");
    }

    @Test
    void aTreeCopyStopsWhenItsHostGoes() throws Exception {
        Path src = Files.createDirectory(dir.resolve("src"));
        for (int i = 0; i < 20; i++) {
            Files.writeString(src.resolve("f" + i), "file " + i);
        }
        Path dst = dir.resolve("dst");

        stopWhileCopying(new FsOp.Copy(src.toString(), dst.toString()));

        assertTrue(Files.isDirectory(dst), "the top directory was made before the host went");
        assertEquals(List.of(), names(dst), "and nothing copied into it after");
    }

    /** Sends {@code copy}, ends its host while it is held at its first step, and waits until the worker is free. */
    private void stopWhileCopying(FsOp copy) throws Exception {
        fs.onRequest(1, new FsRequest(copy, null, true));
        assertTrue(copying.await(10, TimeUnit.SECONDS), "the Copy began");
        fs.onOwnerGone();
        goOn.countDown();
        fs.onRequest(2, new FsRequest(new FsOp.Stat(dir.toString(), true), null, true)); // the next host's
        FsResponse stat = answer(2);
        assertTrue(stat.ok(), stat.toString());
        assertFalse(host.frames.stream().anyMatch(f -> f.id() == 1), "a stopped request is not answered");
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

    private static List<String> names(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
