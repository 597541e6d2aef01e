package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.FsSetAttrs;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A directory handle acts on the directory it has open, whatever its path names since: a guest user
 * who may write in the directory above renames it, or puts a link in its place, between the host's
 * OpenDir and its next request on the handle (a review). Before, FStat and FSetStat acted on the
 * path (following the link: a root FSetStat chowned and chmodded where it pointed), and ReadDir
 * looked at each entry by the path (an empty answer, read as the end, or another directory's sizes).
 */
class FsDirectoryHandleTest {
    private final OneConnectionFs fs = new OneConnectionFs(Duration.ofSeconds(10));
    private Path dir;
    private Path d;

    @BeforeEach
    void files() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/fs-dir-handle").toAbsolutePath()), "t-");
        d = Files.createDirectory(dir.resolve("d"));
        for (int i = 1; i <= 5; i++) {
            Files.writeString(d.resolve("f" + i), "x".repeat(i)); // f1 is 1 byte ... f5 is 5
        }
    }

    @AfterEach
    void stop() {
        fs.close();
    }

    @Test
    void fsetStatActsOnTheOpenDirectoryNotOnALinkPutAtItsName() throws Exception {
        Path victim = Files.writeString(dir.resolve("victim"), "not the handle's");
        Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rw-------"));
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        long h = openDir();
        Path moved = dir.resolve("d.old");
        Files.move(d, moved);
        Files.createSymbolicLink(d, victim);

        FsResponse set = fs.run(new FsOp.FSetStat(h, new FsSetAttrs(0700L, null, null, null, null, 1_000_000L)));

        assertTrue(set.ok(), set.toString());
        assertEquals("rw-------", mode(victim), "the link's target is left alone");
        assertEquals("rwx------", mode(moved), "the directory the handle has open took the mode");
        assertEquals(1_000_000L, Files.getLastModifiedTime(moved).toMillis() / 1000);
    }

    @Test
    void fstatReadsTheOpenDirectory() throws Exception {
        Path file = Files.writeString(dir.resolve("a-file"), "nine byte");
        long h = openDir();
        Files.move(d, dir.resolve("d.old"));
        Files.createSymbolicLink(d, file);

        FsResponse st = fs.run(new FsOp.FStat(h));

        assertTrue(st.ok(), st.toString());
        FsEntryInfo info = ((FsResponseData.Stat) st.data()).info();
        assertEquals(FsEntryInfo.DIR, info.kind(), "the directory, not the file the link at its name leads to");
        assertEquals(d.toString(), info.path(), "named by the handle's path");
    }

    @Test
    void fsetStatWithASizeOnADirectoryHandleIsEisdirAndSetsNothing() throws Exception {
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        long h = openDir();

        FsResponse set = fs.run(new FsOp.FSetStat(h, new FsSetAttrs(0700L, null, null, 0L, null, null)));

        assertFalse(set.ok());
        assertEquals(FsFailure.EISDIR, set.errno(), set.toString());
        assertEquals("rwxr-xr-x", mode(d), "nothing set before the refusal");
    }

    @Test
    void readDirAfterTheDirectoryWasMovedAndAnotherMadeAtItsName() throws Exception {
        long h = openDir();
        Files.move(d, dir.resolve("d.old"));
        Files.createDirectory(d);

        assertEquals(originalSizes(), sizes(fs.run(new FsOp.ReadDir(h, null))),
                "the open directory's five entries, not an empty answer (the end) for the new one");
    }

    @Test
    void readDirAfterALinkToAnotherDirectoryWasPutAtItsName() throws Exception {
        Path other = Files.createDirectory(dir.resolve("other"));
        for (int i = 1; i <= 5; i++) {
            Files.writeString(other.resolve("f" + i), "another directory's " + i);
        }
        long h = openDir();
        Files.move(d, dir.resolve("d.old"));
        Files.createSymbolicLink(d, other);

        assertEquals(originalSizes(), sizes(fs.run(new FsOp.ReadDir(h, null))),
                "each entry's size is the open directory's, not the other directory's");
    }

    @Test
    void aClosedDirectoryHandleIsEbadf() throws Exception {
        long h = openDir();
        assertTrue(fs.run(new FsOp.CloseHandle(h)).ok());

        assertEquals(FsFailure.EBADF, fs.run(new FsOp.ReadDir(h, null)).errno());
        assertEquals(FsFailure.EBADF, fs.run(new FsOp.FStat(h)).errno());
    }

    /**
     * With a user: the entries and the directory's own metadata are read through the agent's
     * descriptor while the request runs with the user's rights (/proc/self/fd/N is the agent's own,
     * open to it under any fs uid), and a link to a directory of the agent's put at the name since
     * (/proc/self/fd/M, which a user's Stat of the path is refused, ELOOP) is never followed.
     */
    @Test
    void aUsersHandleReadsItsOwnDirectoryNotAMagicLinkPutAtItsName() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root");
        Path top = Files.createTempDirectory(Path.of("/tmp"), "fs-dir-handle-");
        try {
            Files.setPosixFilePermissions(top, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path secret = Files.createDirectory(top.resolve("secret"));
            Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rwx------"));
            Path box = Files.createDirectory(secret.resolve("box"));
            Files.writeString(box.resolve("payroll"), "root's secret, 33 bytes long....");
            long held = ((FsResponseData.Handle) fs.run(new FsOp.OpenDir(box.toString())).data()).handle(); // another host's
            Path play = Files.createDirectory(top.resolve("play"));
            Files.setPosixFilePermissions(play, PosixFilePermissions.fromString("rwxrwxrwx"));
            Path mine = Files.createDirectory(play.resolve("d"));
            Files.writeString(mine.resolve("payroll"), "mine");
            Files.setPosixFilePermissions(mine, PosixFilePermissions.fromString("rwxr-xr-x"));
            FsResponse open = fs.run(new FsOp.OpenDir(mine.toString()), "nobody");
            assertTrue(open.ok(), open.toString());
            long h = ((FsResponseData.Handle) open.data()).handle();
            Path boxFd = agentsDescriptorOf(box);
            Files.move(mine, play.resolve("d.old"));
            Files.createSymbolicLink(mine, boxFd);

            assertEquals(Map.of(mine.resolve("payroll").toString(), 4L), sizes(fs.run(new FsOp.ReadDir(h, null), "nobody")),
                    "the user's own directory's entry, not root's behind the link");
            FsResponse st = fs.run(new FsOp.FStat(h), "nobody");
            assertTrue(st.ok(), st.toString());
            assertEquals(FsEntryInfo.DIR, ((FsResponseData.Stat) st.data()).info().kind());
            assertTrue(fs.run(new FsOp.CloseHandle(held)).ok());
        } finally {
            try (var walk = Files.walk(top)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** /proc/self/fd/N of a descriptor the agent (this JVM) holds on {@code dir}. */
    private static Path agentsDescriptorOf(Path dir) throws Exception {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    if (Files.readSymbolicLink(fd).equals(dir)) {
                        return fd;
                    }
                } catch (java.io.IOException gone) {
                    // the listing's own descriptor, closed by now
                }
            }
        }
        throw new AssertionError("the agent holds no descriptor on " + dir);
    }

    private long openDir() throws InterruptedException {
        FsResponse open = fs.run(new FsOp.OpenDir(d.toString()));
        assertTrue(open.ok(), open.toString());
        return ((FsResponseData.Handle) open.data()).handle();
    }

    /** Each entry's path (under the handle's path) and size. */
    private static Map<String, Long> sizes(FsResponse r) {
        assertTrue(r.ok(), r.toString());
        List<FsEntryInfo> entries = ((FsResponseData.Entries) r.data()).entries();
        Map<String, Long> sizes = new TreeMap<>();
        entries.forEach(e -> sizes.put(e.path(), e.size()));
        return sizes;
    }

    private Map<String, Long> originalSizes() {
        Map<String, Long> sizes = new TreeMap<>();
        for (int i = 1; i <= 5; i++) {
            sizes.put(d.resolve("f" + i).toString(), (long) i);
        }
        return sizes;
    }

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }
}
