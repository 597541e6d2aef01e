package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An atomic upload acts in one directory, the destination's as it was at the OpenFile: its checks
 * (is the destination there, whose is it, what mode), its temporary file, the rename over the
 * destination at its CloseHandle and the removal of its temporary file when it is dropped (at the
 * connection's end) all go through that directory's descriptor. A guest user who swaps the
 * directory (here {@code d}, anyone's to change) for a link to another (standing for /root/.ssh, or
 * /tmp with another user's files) meanwhile cannot have the agent, as root, act there. Needs root
 * (owners); FsService with the test thread as its loop and a real worker.
 */
class FsAtomicUploadDirectoryTest {
    private static final FsOpenOptions ATOMIC = new FsOpenOptions(false, true, false, true, true, false, null, true);

    private final OneConnectionFs fs = new OneConnectionFs(Duration.ofSeconds(10));
    private Path dir;
    private Path d;
    private Path victim;

    @BeforeEach
    void files() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root");
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/fs-atomic").toAbsolutePath()), "t-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        d = Files.createDirectory(dir.resolve("d"));
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxrwxrwx"));
        victim = Files.createDirectory(dir.resolve("victim"));
    }

    @AfterEach
    void stop() {
        FsAtomicUpload.atomicPause = () -> {};
        fs.close();
    }

    /** {@code d} moved to {@code d-moved} and a link to {@link #victim} put in its place. */
    private Path swap() {
        try {
            Path moved = Files.move(d, dir.resolve("d-moved"));
            Files.createSymbolicLink(d, victim);
            return moved;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private long upload(String user) throws Exception {
        FsResponse opened = fs.run(new FsOp.OpenFile(d.resolve("f").toString(), ATOMIC), user);
        assertTrue(opened.ok(), opened.toString());
        return ((FsResponseData.Handle) opened.data()).handle();
    }

    /** The name of the one temporary file in {@code directory}. */
    private static String tempIn(Path directory) throws Exception {
        List<String> temps = names(directory).stream().filter(n -> n.startsWith(".f.agentd-")).toList();
        assertEquals(1, temps.size(), "one temporary file in " + directory + ": " + names(directory));
        return temps.get(0);
    }

    /**
     * An upload dropped at the connection's end: its temporary file is removed from the directory it
     * was made in, not from the one a link at the directory's name leads to since. Before, it was
     * removed by its path, as root: a file of the same name there (here the victim's) went instead,
     * and the temporary file stayed.
     */
    @Test
    void aDroppedUploadsTemporaryFileIsRemovedWhereItWasMadeOnly() throws Exception {
        for (String user : new String[] {null, "nobody"}) {
            upload(user);
            String temp = tempIn(d);
            Path moved = swap();
            Path decoy = Files.writeString(victim.resolve(temp), "the victim's");
            fs.ownerGone();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (Files.exists(moved.resolve(temp)) && Files.exists(decoy) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            Thread.sleep(50); // a close that went astray has done so by now
            assertTrue(Files.exists(decoy), user + ": the victim's file of the same name is still there");
            assertEquals("the victim's", Files.readString(decoy));
            assertFalse(Files.exists(moved.resolve(temp)), user + ": the temporary file is removed: " + names(moved));
            Files.delete(decoy);
            Files.delete(d);
            Files.move(moved, d);
        }
    }

    /**
     * A complete upload renames its temporary file over the destination in the directory it was
     * made in. Before, by path: with the directory swapped for a link to a sticky directory anyone
     * may write (here standing for /tmp), a file the guest user made there under the temporary
     * name was renamed, as root, over another user's file of the destination's name.
     */
    @Test
    void aCompleteUploadIsRenamedWhereItWasMadeOnly() throws Exception {
        Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path others = Files.writeString(victim.resolve("f"), "another user's");
        for (String user : new String[] {null, "nobody"}) {
            long h = upload(user);
            String temp = tempIn(d);
            Path moved = swap();
            Path planted = Files.writeString(victim.resolve(temp), "the guest's");
            FsResponse closed = fs.run(new FsOp.CloseHandle(h), user);
            assertEquals("another user's", Files.readString(others), user + ": " + closed);
            assertTrue(Files.exists(planted), user + ": the guest's file stays where it was: " + names(victim));
            assertTrue(closed.ok(), user + ": " + closed);
            assertTrue(Files.isRegularFile(moved.resolve("f"), LinkOption.NOFOLLOW_LINKS),
                    user + ": the upload is in the directory it was made in: " + names(moved));
            assertFalse(names(moved).stream().anyMatch(n -> n.startsWith(".f.agentd-")), names(moved).toString());
            Files.delete(planted);
            Files.delete(moved.resolve("f"));
            Files.delete(d);
            Files.move(moved, d);
        }
    }

    /**
     * The owner and mode an upload gives its file are those of the file it replaces in the
     * directory it acts in. Before, the destination was looked at by name and its temporary file
     * made by name again: with the directory swapped in between for a link to root's (standing for
     * /root/.ssh), the agent's upload replaced root's file there with a file owned by nobody, whose
     * file of that name it had looked at.
     */
    @Test
    void anUploadTakesTheOwnerAndModeOfTheFileItReplacesOnly() throws Exception {
        Path nobodys = Files.writeString(d.resolve("f"), "nobody's");
        Files.setAttribute(nobodys, "unix:uid", 65534);
        Files.setPosixFilePermissions(nobodys, PosixFilePermissions.fromString("rw-rw-rw-"));
        Path roots = Files.writeString(victim.resolve("f"), "root's");
        Files.setPosixFilePermissions(roots, PosixFilePermissions.fromString("rw-------"));
        Path[] moved = new Path[1];
        FsAtomicUpload.atomicPause = () -> moved[0] = swap();
        long h = upload(null);
        FsAtomicUpload.atomicPause = () -> {};
        FsResponse closed = fs.run(new FsOp.CloseHandle(h));
        assertTrue(closed.ok(), closed.toString());
        assertEquals(0, Files.getAttribute(roots, "unix:uid"), "root's file is root's");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(roots)));
        assertEquals("root's", Files.readString(roots), "and as it was");
        assertEquals(List.of("f"), names(victim));
        Path uploaded = moved[0].resolve("f");
        assertEquals(0, Files.size(uploaded), "the upload replaced nobody's file, in its own directory");
        assertEquals(65534, Files.getAttribute(uploaded, "unix:uid"), "and took its owner");
        assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(uploaded)));
    }

    /**
     * A user's upload without create to a name in a directory that user cannot search answers the
     * same whether the name is there or not. Before, "is it there" was the JDK's Files.exists, which
     * asks access(2), and access(2) checks the real uid, the agent's (root's): a name there went on
     * to fail EACCES making the temporary file, a name not there was ENOENT.
     */
    @Test
    void aUsersUploadWithoutCreateCannotTellWhatAHiddenDirectoryHolds() throws Exception {
        Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rwx------"));
        Files.writeString(victim.resolve("there"), "root's");
        FsOpenOptions withoutCreate = new FsOpenOptions(false, true, false, false, true, false, null, true);
        FsResponse there = fs.run(new FsOp.OpenFile(victim.resolve("there").toString(), withoutCreate), "nobody");
        FsResponse missing = fs.run(new FsOp.OpenFile(victim.resolve("missing").toString(), withoutCreate), "nobody");
        assertEquals("EACCES", there.errnoName(), there.toString());
        assertEquals("EACCES", missing.errnoName(), missing.toString());
        assertEquals(List.of("there"), names(victim));
    }

    private static List<String> names(Path directory) throws Exception {
        try (Stream<Path> all = Files.list(directory)) {
            return all.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
