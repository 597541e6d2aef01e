package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.spawn.UserDb;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A Copy or RemoveDir gives its worker back between slices ({@link FsSlicedRequest}): on the one
 * worker, a Stat sent after it is answered before it, though it needs many slices (each one step
 * here: {@link FsSlice#nanos} 0). Before, it ran to its end on the worker and the Stat waited for
 * all of it. Its host gone between slices, it stops unanswered and leaves no temporary file.
 */
class FsSlicedRequestTest {
    private final OneConnectionFs fs = new OneConnectionFs(Duration.ofSeconds(20), 1, FsSettings.DEFAULTS);
    private Path dir;

    @BeforeEach
    void files() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/fs-sliced").toAbsolutePath()), "t-");
        FsSlice.nanos = 0;
    }

    @AfterEach
    void stop() {
        FsSlice.nanos = FsSlice.DEFAULT_NANOS;
        fs.close();
    }

    @Test
    void aFileCopyLetsAStatSentAfterItBeAnsweredFirst() throws Exception {
        byte[] bytes = randomBytes(4 << 20); // 64 of the Copy's chunks
        Path src = Files.write(dir.resolve("src"), bytes);
        Path dst = dir.resolve("dst");

        long copy = fs.send(new FsOp.Copy(src.toString(), dst.toString()), null);
        answeredFirst(copy);

        assertTrue(fs.answer(copy).ok());
        assertArrayEquals(bytes, Files.readAllBytes(dst), "the copy is byte for byte its source");
        assertEquals(List.of("dst", "src"), names(dir), "and no temporary file is left");
    }

    @Test
    void aTreeCopyLetsAStatSentAfterItBeAnsweredFirst() throws Exception {
        Path src = tree(dir.resolve("src"));
        Path dst = dir.resolve("dst");

        long copy = fs.send(new FsOp.Copy(src.toString(), dst.toString()), null);
        answeredFirst(copy);

        assertTrue(fs.answer(copy).ok());
        for (int i = 0; i < FILES; i++) {
            assertEquals("file " + i, Files.readString(dst.resolve(fileName(i))), fileName(i));
        }
    }

    @Test
    void aRecursiveRemoveDirLetsAStatSentAfterItBeAnsweredFirst() throws Exception {
        Path top = tree(dir.resolve("top"));

        long remove = fs.send(new FsOp.RemoveDir(top.toString(), true), null);
        answeredFirst(remove);

        assertTrue(fs.answer(remove).ok());
        assertEquals(List.of(), names(dir));
    }

    @Test
    void aCopyStoppedBetweenSlicesLeavesNoTemporaryFileAndIsNotAnswered() throws Exception {
        Path src = Files.write(dir.resolve("src"), randomBytes(4 << 20));

        long copy = fs.send(new FsOp.Copy(src.toString(), dir.resolve("dst").toString()), null);
        answeredFirst(copy); // the Copy is between two slices, or in one
        fs.ownerGone();

        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!names(dir).equals(List.of("src")) && System.nanoTime() < deadline) {
            assertTrue(fs.run(new FsOp.Stat(dir.toString(), true)).ok()); // the loop runs meanwhile
        }
        assertEquals(List.of("src"), names(dir), "no destination, no temporary file left");
        assertFalse(fs.sentOn(copy), "a stopped request is not answered");
    }

    /** A Stat sent after the request on {@code id} is answered while that request is still under way. */
    /**
     * A slice's task can fail before the slice runs (here its user is gone from the user database
     * between two slices, as after a userdel): the Copy is answered with that failure, and what it
     * held (its descriptors' room in the budget, its temporary file) is let go all the same. Before,
     * only a failure inside a slice closed it: the room was lost for good and the temporary file left.
     */
    @Test
    void aCopyWhoseUserGoesBetweenSlicesLetsGoOfWhatItHolds() throws Exception {
        Path passwd = Files.writeString(dir.resolve("passwd"), "root:x:0:0::/root:/bin/sh\ncopier:x:0:0::/:/bin/sh\n");
        Path group = Files.writeString(dir.resolve("group"), "root:x:0:\n");
        Path work = Files.createDirectory(dir.resolve("w"));
        Path src = Files.write(work.resolve("src"), randomBytes(8 << 20)); // 128 slices
        try (OneConnectionFs asCopier = new OneConnectionFs(Duration.ofSeconds(20), 1, FsSettings.DEFAULTS,
                new UserDb(passwd, group))) {
            int heldBefore = asCopier.handleBudget().held();
            long copy = asCopier.send(new FsOp.Copy(src.toString(), work.resolve("dst").toString()), "copier");
            assertTrue(asCopier.run(new FsOp.Stat(work.toString(), true)).ok(), "the Copy is between slices");
            assertFalse(asCopier.sentOn(copy));
            Files.writeString(passwd, "root:x:0:0::/root:/bin/sh\n");

            FsResponse answer = asCopier.answer(copy);
            assertFalse(answer.ok(), "answered with the failure to take its user's rights");
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while ((asCopier.handleBudget().held() != heldBefore || names(work).size() != 1)
                    && System.nanoTime() < deadline) {
                Thread.sleep(10); // closed aside, off the loop
            }
            assertEquals(heldBefore, asCopier.handleBudget().held(), "its descriptors' room is given back");
            assertEquals(List.of("src"), names(work), "and its temporary file removed");
        }
    }

    private void answeredFirst(long id) throws Exception {
        FsResponse stat = fs.run(new FsOp.Stat(dir.toString(), true));
        assertTrue(stat.ok(), stat.toString());
        assertFalse(fs.sentOn(id), "the Stat sent after it waited until it was done");
    }

    /** Files in a tree: half at its top, half two directories down. */
    private static final int FILES = 20;

    private static String fileName(int i) {
        return i % 2 == 0 ? "f" + i : "a/b/f" + i;
    }

    /** A tree of {@link #FILES} files at {@code top}, each holding "file I". */
    private static Path tree(Path top) throws Exception {
        Files.createDirectories(top.resolve("a/b"));
        for (int i = 0; i < FILES; i++) {
            Files.writeString(top.resolve(fileName(i)), "file " + i);
        }
        return top;
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        new Random(3).nextBytes(bytes);
        return bytes;
    }

    private static List<String> names(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
