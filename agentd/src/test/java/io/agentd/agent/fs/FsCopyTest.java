package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Copy of a file: holes stay holes, the whole mode comes along, and a copy that fails on the way
 * leaves the destination as it was. FsService with the test thread as its loop and a real worker.
 */
class FsCopyTest {
    private final OneConnectionFs fs = new OneConnectionFs(Duration.ofSeconds(30));
    private Path dir;

    @BeforeEach
    void files() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/fs-copy").toAbsolutePath()), "t-");
    }

    @AfterEach
    void stop() {
        fs.close();
    }

    private FsResponse run(FsOp op) throws InterruptedException {
        return fs.run(op);
    }

    private static long blocks(Path file) throws Exception {
        Process stat = new ProcessBuilder("stat", "-c", "%b", file.toString()).redirectErrorStream(true).start();
        String out = new String(stat.getInputStream().readAllBytes()).trim();
        assertEquals(0, stat.waitFor(), out);
        return Long.parseLong(out);
    }

    private static List<String> names(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aSparseFileIsCopiedWithItsHoles() throws Exception {
        Path src = dir.resolve("sparse");
        try (FileChannel ch = FileChannel.open(src, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("start".getBytes()), 0);
            ch.write(ByteBuffer.wrap("middle".getBytes()), 20L << 20);
            ch.write(ByteBuffer.wrap("end".getBytes()), (64L << 20) - 3);
        }
        Path dst = dir.resolve("copy");
        assertTrue(run(new FsOp.Copy(src.toString(), dst.toString())).ok());
        assertEquals(Files.size(src), Files.size(dst));
        assertTrue(blocks(dst) <= 8 * 64, "blocks of a 64 MiB file with three short runs of data: " + blocks(dst));
        try (FileChannel a = FileChannel.open(src); FileChannel b = FileChannel.open(dst)) {
            for (long at : new long[] {0, 20L << 20, (64L << 20) - 3, 1 << 20}) {
                ByteBuffer x = ByteBuffer.allocate(64);
                ByteBuffer y = ByteBuffer.allocate(64);
                a.read(x, at);
                b.read(y, at);
                assertArrayEquals(x.array(), y.array(), "bytes at " + at);
            }
        }

        Path trailing = dir.resolve("trailing-hole");
        try (FileChannel ch = FileChannel.open(trailing, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("data".getBytes()), 0);
            ch.write(ByteBuffer.allocate(1), (8L << 20) - 1); // a zero byte last: the copy's size must still be the same
        }
        Path trailingCopy = dir.resolve("trailing-copy");
        assertTrue(run(new FsOp.Copy(trailing.toString(), trailingCopy.toString())).ok());
        assertEquals(8L << 20, Files.size(trailingCopy));
        assertEquals("data", new String(Files.readAllBytes(trailingCopy), 0, 4));
    }

    /**
     * A 1 TiB file of three short runs of data: its copy reads those only (lseek's SEEK_DATA and
     * SEEK_HOLE), where reading its holes through took some 40 minutes; the same size, the same
     * bytes where the data is, the holes kept. Skipped where the file system takes no such file.
     */
    @Test
    void aHugeSparseFileIsCopiedInTheTimeOfItsData() throws Exception {
        long size = 1L << 40;
        long[] dataAt = {0, (size / 3) & ~4095L, size - 7};
        Path src = dir.resolve("huge");
        try (FileChannel ch = FileChannel.open(src, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long at : dataAt) {
                ch.write(ByteBuffer.wrap("data@".concat(Long.toString(at % 100)).getBytes()), at);
            }
        } catch (IOException e) {
            Assumptions.abort("the file system of " + dir + " takes no 1 TiB sparse file: " + e);
        }
        Assumptions.assumeTrue(blocks(src) < 1024, "the file system of " + dir + " has no holes: " + blocks(src));
        Path dst = dir.resolve("huge-copy");

        long started = System.nanoTime();
        FsResponse copied = run(new FsOp.Copy(src.toString(), dst.toString()));
        long millis = (System.nanoTime() - started) / 1_000_000;

        assertTrue(copied.ok(), copied.toString());
        assertTrue(millis < 10_000, "a copy of 21 bytes of data took " + millis + " ms");
        assertEquals(size, Files.size(dst));
        assertTrue(blocks(dst) < 1024, "the copy keeps the holes: " + blocks(dst) + " blocks");
        try (FileChannel a = FileChannel.open(src); FileChannel b = FileChannel.open(dst)) {
            for (long at : new long[] {0, dataAt[1] - 10, dataAt[2], size / 2}) {
                ByteBuffer x = ByteBuffer.allocate(7);
                ByteBuffer y = ByteBuffer.allocate(7);
                a.read(x, at);
                b.read(y, at);
                assertArrayEquals(x.array(), y.array(), "bytes at " + at);
            }
        }
    }

    @Test
    void theWholeModeComesAlongSetIdBitsIncludedWhenTheOwnerStaysTheSame() throws Exception {
        Path src = Files.writeString(dir.resolve("tool"), "#!/bin/sh\n");
        Files.setAttribute(src, "unix:mode", 04750);
        Path dst = dir.resolve("tool-copy");
        assertTrue(run(new FsOp.Copy(src.toString(), dst.toString())).ok());
        assertEquals(04750, (Integer) Files.getAttribute(dst, "unix:mode") & 07777);
    }

    @Test
    void aCopyOverAFileReplacesItAndLeavesNoTemporaryFile() throws Exception {
        Path src = Files.writeString(dir.resolve("new"), "new content\n");
        Path dst = Files.writeString(dir.resolve("old"), "old\n");
        Path other = dir.resolve("other-name");
        Files.createLink(other, dst); // a hard link to the old file keeps the old content
        assertTrue(run(new FsOp.Copy(src.toString(), dst.toString())).ok());
        assertEquals("new content\n", Files.readString(dst));
        assertEquals("old\n", Files.readString(other));
        assertEquals(List.of("new", "old", "other-name"), names(dir));
    }

    /** Needs root: a small tmpfs is mounted so that the copy runs out of room half way. */
    @Test
    void aCopyThatFailsOnTheWayLeavesTheDestinationAsItWas() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root (mount)");
        Path small = Files.createDirectory(dir.resolve("small"));
        mount(small);
        try {
            Path dst = Files.writeString(small.resolve("dst"), "old\n");
            Path src = dir.resolve("big");
            byte[] random = new byte[2 << 20];
            new Random(3).nextBytes(random); // no zeros to leave out: every block is written
            Files.write(src, random);
            FsResponse r = run(new FsOp.Copy(src.toString(), dst.toString()));
            assertFalse(r.ok(), r.toString());
            assertEquals(FsFailure.ENOSPC, r.errno(), r.toString());
            assertEquals("old\n", Files.readString(dst), "the destination is untouched");
            assertEquals(List.of("dst"), names(small), "no temporary file left");
        } finally {
            new ProcessBuilder("umount", small.toString()).inheritIO().start().waitFor();
        }
    }

    private static void mount(Path at) throws Exception {
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", at.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        Assumptions.assumeTrue(p.waitFor() == 0, "tmpfs mount refused here: " + out);
    }
}
