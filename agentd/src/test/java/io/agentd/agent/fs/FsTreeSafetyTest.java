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
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
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

    /**
     * A file or a link copied onto a directory is EISDIR, and the directory stays: before, an empty
     * one was removed and the file put in its place (its mode and owner lost), a full one ENOTEMPTY.
     */
    @Test
    void aFileOrALinkCopiedOntoADirectoryIsEisdirAndTheDirectoryStays() throws Exception {
        Path file = dir.resolve("file");
        Files.writeString(file, "x");
        Path link = dir.resolve("link");
        Files.createSymbolicLink(link, file);
        Path empty = Files.createDirectory(dir.resolve("empty"));
        Path full = Files.createDirectory(dir.resolve("full"));
        Files.writeString(full.resolve("inside"), "y");
        fs.onRequest(1, new FsRequest(new FsOp.Copy(file.toString(), empty.toString()), null, true));
        fs.onRequest(2, new FsRequest(new FsOp.Copy(link.toString(), empty.toString()), null, true));
        FsResponse fileOntoEmpty = await(1, 2);
        FsResponse linkOntoEmpty = await(2, 2);
        fs.onRequest(3, new FsRequest(new FsOp.Copy(file.toString(), full.toString()), null, true));
        FsResponse fileOntoFull = await(3, 1);
        for (FsResponse r : List.of(fileOntoEmpty, linkOntoEmpty, fileOntoFull)) {
            assertEquals("EISDIR", r.errnoName(), r.toString());
            assertTrue(r.error().contains("the destination is a directory"), r.error());
        }
        assertTrue(Files.isDirectory(empty, LinkOption.NOFOLLOW_LINKS), "the empty directory is still there");
        assertEquals("y", Files.readString(full.resolve("inside")));
    }

    /** renameat2(2), for a guest's swap of a directory for a link in one step. */
    public interface Renames {
        int renameat2(int oldDirFd, String oldPath, int newDirFd, String newPath, int flags);
    }

    private static final Renames RENAMES = jnr.ffi.LibraryLoader.create(Renames.class).load("c");
    private static final int AT_FDCWD = -100;
    private static final int RENAME_EXCHANGE = 2;

    /** Whether {@code directory} has an entry yet (one getdents, not a full listing). */
    private static boolean hasEntries(Path directory) throws Exception {
        try (java.nio.file.DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            return entries.iterator().hasNext();
        }
    }

    /**
     * Starts a guest process's swap: once {@code watched} exists and holds a file (the Copy has
     * begun writing in the destination or reading in the source), {@code swapped} and a link to
     * {@code target} named "moved" beside it trade places: "moved" is then the real directory. {@code outcome} then holds
     * how many files the destination directory {@code copying} had at the swap, or what went wrong.
     */
    private static Thread swapWhenCopying(Path watched, Path swapped, Path target, Path copying,
            AtomicReference<Object> outcome) {
        Thread guest = new Thread(() -> {
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (!Files.isDirectory(watched) || !hasEntries(watched)) {
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("the copy never wrote in " + watched);
                    }
                    Thread.onSpinWait();
                }
                // One atomic step (renameat2 RENAME_EXCHANGE), so the Copy never sees the name missing.
                Path link = Files.createSymbolicLink(swapped.resolveSibling("moved"), target);
                if (RENAMES.renameat2(AT_FDCWD, swapped.toString(), AT_FDCWD, link.toString(), RENAME_EXCHANGE) != 0) {
                    throw new AssertionError("renameat2 RENAME_EXCHANGE failed");
                }
                outcome.set(count(copying));
            } catch (Throwable e) {
                outcome.set(e);
            }
        });
        guest.start();
        return guest;
    }

    /**
     * A guest process that can write in the destination swaps dst/sub, which the Copy has just
     * created and is filling, for a link to another directory (standing for /etc). Before the fix
     * every file was written by its full path (deleteIfExists, then CREATE_NEW), so the victim's
     * files of the same names were deleted and replaced through the link (as root: /etc's).
     */
    @Test
    void treeCopyNeverWritesThroughADestinationDirectorySwappedForALinkMidCopy() throws Exception {
        int n = 4000;
        Path victim = Files.createDirectory(dir.resolve("victim"));
        Path tree = Files.createDirectory(dir.resolve("tree"));
        Path sub = Files.createDirectory(tree.resolve("sub"));
        for (int i = 0; i < n; i++) {
            Files.writeString(sub.resolve("f" + i), "copied");
            Files.writeString(victim.resolve("f" + i), "kept");
        }
        Files.writeString(victim.resolve("only-in-victim"), "kept");
        Path dst = dir.resolve("dst");
        Path dstSub = dst.resolve("sub");
        AtomicReference<Object> swapped = new AtomicReference<>();
        Thread guest = swapWhenCopying(dstSub, dstSub, victim, dst.resolve("moved"), swapped);
        fs.onRequest(1, new FsRequest(new FsOp.Copy(tree.toString(), dst.toString()), null, true));
        FsResponse copied = await(1, 10);
        guest.join();
        assertTrue(swapped.get() instanceof Long done && done < n,
                "the swap came while dst/sub was being filled: " + swapped.get());
        assertEquals(n + 1, count(victim), "no file added to the victim: " + copied);
        try (Stream<Path> files = Files.list(victim)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                assertEquals("kept", Files.readString(f), "nothing replaced through the link: " + f + ", " + copied);
            }
        }
        assertTrue(Files.isSymbolicLink(dstSub), "the guest's link is left as it is");
        assertTrue(copied.ok(), copied.toString());
        assertEquals(n, count(dst.resolve("moved")), "the copy went on in the directory it made");
    }

    /**
     * A guest process swaps a source subdirectory for a link to a directory it may not read (standing
     * for one of root's) once the Copy is reading it. Before the fix each file was opened by its full
     * path, so the rest were read through the link and the secret's bytes landed in the destination.
     */
    @Test
    void treeCopyNeverReadsThroughASourceDirectorySwappedForALinkMidCopy() throws Exception {
        int n = 4000;
        Path secret = Files.createDirectory(dir.resolve("secret"));
        Path tree = Files.createDirectory(dir.resolve("tree"));
        Path sub = Files.createDirectory(tree.resolve("sub"));
        for (int i = 0; i < n; i++) {
            Files.writeString(sub.resolve("f" + i), "public");
            Files.writeString(secret.resolve("f" + i), "SECRET");
        }
        Path dst = dir.resolve("dst");
        AtomicReference<Object> swapped = new AtomicReference<>();
        Thread guest = swapWhenCopying(dst.resolve("sub"), sub, secret, dst.resolve("sub"), swapped);
        fs.onRequest(1, new FsRequest(new FsOp.Copy(tree.toString(), dst.toString()), null, true));
        FsResponse copied = await(1, 10);
        guest.join();
        assertTrue(swapped.get() instanceof Long done && done < n,
                "the swap came while sub was being copied: " + swapped.get());
        assertTrue(copied.ok(), copied.toString());
        try (Stream<Path> all = Files.walk(dst)) {
            for (Path f : (Iterable<Path>) all::iterator) {
                if (Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    assertEquals("public", Files.readString(f), "no byte of the secret copied: " + f);
                }
            }
        }
        assertEquals(n, count(dst.resolve("sub")), "the copy went on in the directory it opened");
    }

    /**
     * The descriptor-relative walk copies as the path walk did: nested directories, files with their
     * mode, links as links, into an existing destination (its files replaced); a link already at a
     * destination directory's name is EEXIST, as mkdir's, and nothing is written through it.
     */
    @Test
    void treeCopyCopiesNestedDirectoriesFilesAndLinksAndRefusesALinkAlreadyInTheDestination() throws Exception {
        Files.createDirectories(dir.resolve("tree/a/b"));
        Path deep = Files.writeString(dir.resolve("tree/a/b/deep"), "x");
        Files.setPosixFilePermissions(deep, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Files.createSymbolicLink(dir.resolve("tree/a/link"), Path.of("b/deep"));
        Files.createSymbolicLink(dir.resolve("tree/dirlink"), dir);
        Path dst = Files.createDirectories(dir.resolve("dst/a"));
        Files.writeString(Files.createDirectory(dst.resolve("b")).resolve("deep"), "older and longer"); // replaced
        fs.onRequest(1, new FsRequest(new FsOp.Copy(dir.resolve("tree").toString(), dir.resolve("dst").toString()),
                null, true));
        FsResponse copied = await(1, 10);
        assertTrue(copied.ok(), copied.toString());
        assertEquals("x", Files.readString(dir.resolve("dst/a/b/deep")));
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve("dst/a/b/deep"))));
        assertEquals(Path.of("b/deep"), Files.readSymbolicLink(dir.resolve("dst/a/link")));
        assertEquals(dir, Files.readSymbolicLink(dir.resolve("dst/dirlink")));

        Path victim = Files.createDirectory(dir.resolve("victim"));
        Files.createDirectory(dir.resolve("dst2"));
        Files.createSymbolicLink(dir.resolve("dst2/a"), victim);
        fs.onRequest(2, new FsRequest(new FsOp.Copy(dir.resolve("tree").toString(), dir.resolve("dst2").toString()),
                null, true));
        FsResponse refused = await(2, 10);
        assertEquals("EEXIST", refused.errnoName(), refused.toString());
        assertTrue(refused.error().startsWith("copy " + dir.resolve("tree") + " to " + dir.resolve("dst2") + ": "),
                refused.error());
        assertEquals(0, count(victim), "nothing written through the link");
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
