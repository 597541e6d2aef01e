package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
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
    private final OneConnectionFs fs = new OneConnectionFs(Duration.ofSeconds(10), 1, FsSettings.DEFAULTS);
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
        fs.close();
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
        long id = fs.send(copy, null);
        assertTrue(copying.await(10, TimeUnit.SECONDS), "the Copy began");
        fs.ownerGone();
        goOn.countDown();
        FsResponse stat = fs.run(new FsOp.Stat(dir.toString(), true)); // the next host's, on the one worker
        assertTrue(stat.ok(), stat.toString());
        assertFalse(fs.sentOn(id), "a stopped request is not answered");
    }

    private static List<String> names(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
