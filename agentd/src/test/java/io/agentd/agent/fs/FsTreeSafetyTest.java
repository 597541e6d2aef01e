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
import java.nio.file.attribute.FileTime;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * RemoveDir and Copy over trees a guest process may change meanwhile, or may fill with files whose
 * reads never end: FsService with the test thread as its event loop and two real workers.
 */
class FsTreeSafetyTest {
    private final BlockingQueue<Runnable> loop = new LinkedBlockingQueue<>();
    private final RecordingHost host = new RecordingHost();
    private final FsWorkers workers = new FsWorkers(2);
    private final FsService fs = new FsService(loop::add, host, new HeldIds(), workers, UserDb.system(),
            FsCredentials.ofAgent(), new FsSettings(2, 8, 4096, 8192, 16384));
    private Path dir;

    @BeforeEach
    void files() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/fs-tree").toAbsolutePath()), "t-");
    }

    @AfterEach
    void stop() {
        workers.shutdown();
    }

    /** Runs loop tasks until the answer to {@code id} came (or fails after {@code seconds}). */
    private FsResponse await(long id, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (host.frames.stream().noneMatch(f -> f.id() == id && f.type() == MessageType.FS_RESPONSE)) {
            Runnable task = loop.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (task == null) {
                throw new AssertionError("no answer to " + id + " within " + seconds + " s: " + host.types());
            }
            task.run();
        }
        return host.frames.stream().filter(f -> f.id() == id && f.type() == MessageType.FS_RESPONSE)
                .map(f -> (FsResponse) f.payload()).findFirst().orElseThrow();
    }

    private static long count(Path directory) throws Exception {
        try (Stream<Path> entries = Files.list(directory)) {
            return entries.count();
        }
    }

    /**
     * A guest process swaps tree/sub for a link to another directory (standing for /etc) once the
     * removal has begun deleting in sub. Before the fix every entry was deleted by its full path,
     * so the victim's files of the same names were deleted through the link (as root: /etc's).
     * The first unlink in sub is seen as sub's mtime leaving the epoch, where the test set it.
     */
    @Test
    void recursiveRemoveDirNeverDeletesThroughADirectorySwappedForALinkMidWalk() throws Exception {
        int n = 4000;
        Path victim = Files.createDirectory(dir.resolve("victim"));
        Path tree = Files.createDirectory(dir.resolve("tree"));
        Path sub = Files.createDirectory(tree.resolve("sub"));
        for (int i = 0; i < n; i++) {
            Files.createFile(sub.resolve("f" + i));
            Files.createFile(victim.resolve("f" + i));
        }
        Files.setLastModifiedTime(sub, FileTime.fromMillis(0));
        AtomicReference<Object> swapped = new AtomicReference<>();
        Thread guest = new Thread(() -> {
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (Files.getLastModifiedTime(sub).toMillis() == 0) {
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("the removal never deleted in sub");
                    }
                    Thread.onSpinWait();
                }
                Files.move(sub, tree.resolve("moved"));
                Files.createSymbolicLink(sub, victim);
                swapped.set(count(tree.resolve("moved"))); // files of sub not yet deleted at the swap
            } catch (Throwable e) {
                swapped.set(e);
            }
        });
        guest.start();
        fs.onRequest(1, new FsRequest(new FsOp.RemoveDir(tree.toString(), true), null, true));
        FsResponse removed = await(1, 10);
        guest.join();
        assertTrue(swapped.get() instanceof Long left && left > 0,
                "the swap came while sub was being emptied: " + swapped.get());
        assertEquals(n, count(victim), "nothing deleted through the link: " + removed);
        // The link is removed as a link; "moved" (the real sub, emptied) may or may not have been
        // listed after its rename, so the answer is ok or ENOTEMPTY.
        assertTrue(removed.ok() || "ENOTEMPTY".equals(removed.errnoName()), removed.toString());
        assertFalse(Files.isSymbolicLink(sub), "the link put in the tree is removed, not followed");
    }

    @Test
    void recursiveRemoveDirStillRemovesFilesLinksAndNestedDirectoriesButNotALinkAtTheTop() throws Exception {
        Path tree = Files.createDirectories(dir.resolve("tree/a/b/c"));
        Path outside = Files.writeString(dir.resolve("outside"), "kept");
        Files.writeString(tree.resolve("f"), "x");
        Files.createSymbolicLink(dir.resolve("tree/a/link"), outside);
        Files.createSymbolicLink(dir.resolve("tree/a/dirlink"), dir);
        Path top = Files.createSymbolicLink(dir.resolve("toplink"), dir.resolve("tree"));
        fs.onRequest(1, new FsRequest(new FsOp.RemoveDir(top.toString(), true), null, true));
        assertEquals("ENOTDIR", await(1, 10).errnoName());
        fs.onRequest(2, new FsRequest(new FsOp.RemoveDir(dir.resolve("tree").toString(), true), null, true));
        assertTrue(await(2, 10).ok());
        assertFalse(Files.exists(dir.resolve("tree")));
        assertEquals("kept", Files.readString(outside));
        assertTrue(Files.isSymbolicLink(top), "the link at the top is left");
    }

    /**
     * Before the fix a Copy of a FIFO held its worker in open(2) for good (no writer comes), and
     * one of a device was read to its end: /dev/null's is at once, /dev/zero's never (it filled
     * the disk). /dev/zero is asked only once the FIFO and /dev/null were refused, so that a run
     * without the fix fails there instead of filling this machine's disk.
     */
    @Test
    void copyOfAFifoOrADeviceIsEinvalAtOnceAndTheWorkersStillServe() throws Exception {
        Path fifo = dir.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        fs.onRequest(1, new FsRequest(new FsOp.Copy(fifo.toString(), dir.resolve("out1").toString()), null, true));
        fs.onRequest(2, new FsRequest(new FsOp.Copy("/dev/null", dir.resolve("out2").toString()), null, true));
        FsResponse ofFifo = await(1, 2);
        assertEquals("EINVAL", ofFifo.errnoName(), ofFifo.toString());
        assertTrue(ofFifo.error().contains("a FIFO, not a regular file: fs opens regular files only"), ofFifo.error());
        FsResponse ofNull = await(2, 2);
        assertEquals("EINVAL", ofNull.errnoName(), ofNull.toString());
        assertTrue(ofNull.error().contains("a character device, not a regular file"), ofNull.error());

        fs.onRequest(3, new FsRequest(new FsOp.Copy("/dev/zero", dir.resolve("out3").toString()), null, true));
        FsResponse ofZero = await(3, 2);
        assertEquals("EINVAL", ofZero.errnoName(), ofZero.toString());
        assertFalse(Files.exists(dir.resolve("out3")));

        // A tree holding a FIFO: the Copy fails on it the same way.
        Path tree = Files.createDirectory(dir.resolve("tree"));
        Files.writeString(tree.resolve("file"), "x");
        assertEquals(0, new ProcessBuilder("mkfifo", tree.resolve("pipe").toString()).start().waitFor());
        fs.onRequest(4, new FsRequest(new FsOp.Copy(tree.toString(), dir.resolve("tree2").toString()), null, true));
        FsResponse ofTree = await(4, 2);
        assertEquals("EINVAL", ofTree.errnoName(), ofTree.toString());
        assertTrue(ofTree.error().contains("pipe: a FIFO"), ofTree.error());

        fs.onRequest(5, new FsRequest(new FsOp.Stat(dir.toString(), true), null, true));
        fs.onRequest(6, new FsRequest(new FsOp.Stat(dir.toString(), true), null, true));
        assertTrue(await(5, 2).ok() && await(6, 2).ok(), "both workers are free");
    }

    @Test
    void copyOfARegularFileOrALinkIsUnchanged() throws Exception {
        Path file = Files.writeString(dir.resolve("file"), "hello");
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x---"));
        Path old = Files.writeString(dir.resolve("copy"), "older and longer");
        Path link = Files.createSymbolicLink(dir.resolve("link"), file);
        fs.onRequest(1, new FsRequest(new FsOp.Copy(file.toString(), old.toString()), null, true));
        fs.onRequest(2, new FsRequest(new FsOp.Copy(link.toString(), dir.resolve("link2").toString()), null, true));
        assertTrue(await(1, 10).ok() && await(2, 10).ok(), host.types().toString());
        assertEquals("hello", Files.readString(old));
        assertEquals("rwx--x---", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(old)));
        assertEquals(file, Files.readSymbolicLink(dir.resolve("link2")));
    }

    /**
     * Before the fix the check was lexical: "/w/./s/d" or a path through a link to /w/s passed it,
     * and the tree was copied into itself level after level until ENAMETOOLONG.
     */
    @Test
    void copyIntoItselfThroughADotOrALinkIsEinvalWithNothingCreated() throws Exception {
        Path src = Files.createDirectory(dir.resolve("s"));
        Files.writeString(src.resolve("data"), "x");
        Path link = Files.createSymbolicLink(dir.resolve("link"), src);
        fs.onRequest(1, new FsRequest(new FsOp.Copy(src.toString(), dir + "/./s/d"), null, true));
        fs.onRequest(2, new FsRequest(new FsOp.Copy(src.toString(), link + "/d"), null, true));
        for (long id = 1; id <= 2; id++) {
            FsResponse r = await(id, 10);
            assertEquals("EINVAL", r.errnoName(), r.toString());
            assertTrue(r.error().contains("the destination is inside the source"), r.error());
        }
        assertEquals(1, count(src), "nothing created in the source");
        fs.onRequest(3, new FsRequest(new FsOp.Copy(src.toString(), dir + "/./s2"), null, true));
        assertTrue(await(3, 10).ok());
        assertEquals("x", Files.readString(dir.resolve("s2/data")));
    }
}
