package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A Copy acts in one directory, the destination's, opened once: its temporary file is made there,
 * renamed over the destination there and, when the copy fails, removed from there; a tree's top
 * directory is made and opened there. A guest user who swaps that directory (here {@code d},
 * anyone's to change, as /tmp or a directory of the user's own) for a link to another (standing for
 * /tmp with another user's files, or /root) meanwhile cannot have the agent, as root, act there,
 * however long a large file takes to copy. With a {@code user}, the same. Needs root (owners, a
 * user's rights, a tmpfs); FsService with the test thread as its loop and a real worker.
 */
class FsCopyDirectoryTest {
    private final OneConnectionFs fs = new OneConnectionFs(Duration.ofSeconds(10));
    /** The guest user's swaps, on a thread the test started (root's). */
    private final ExecutorService guest = Executors.newSingleThreadExecutor();
    private Path dir;
    private Path victim;
    private Path src;

    @BeforeEach
    void files() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root");
        guest.submit(() -> {}).get(); // its thread started here, as root
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/fs-copy-dir").toAbsolutePath()), "t-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        victim = Files.createDirectory(dir.resolve("victim"));
        src = Files.writeString(dir.resolve("src"), "the host's");
        Files.setPosixFilePermissions(src, PosixFilePermissions.fromString("rw-r--r--"));
    }

    @AfterEach
    void stop() {
        FsTrees.copyPause = () -> {};
        guest.shutdown();
        fs.close();
    }

    /** A directory anyone may change, standing for /tmp or the guest user's own. */
    private static Path anyones(Path d) throws Exception {
        Files.createDirectory(d);
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxrwxrwx"));
        return d;
    }

    /**
     * At the Copy's first pause (once it made its temporary file, or a tree's top directory), the
     * guest's swap: {@code d} moved to {@code d-moved} beside it, a link to {@link #victim} put in its
     * place, then {@code then} (given d-moved); what it did, or what failed, in {@code moved}.
     */
    private void swapAtTheFirstPause(Path d, AtomicReference<Object> moved, Thrower then) {
        FsTrees.copyPause = () -> {
            if (moved.get() != null) {
                return;
            }
            // On the guest's thread, started as root: the worker may be acting as the request's
            // user just now, and a thread it started would too.
            try {
                guest.submit(() -> {
                    try {
                        Path to = Files.move(d, d.resolveSibling("d-moved"));
                        Files.createSymbolicLink(d, victim);
                        moved.set(to);
                        then.run(to);
                    } catch (Throwable e) {
                        moved.set(e);
                    }
                }).get();
            } catch (Exception e) {
                moved.set(e);
            }
        };
    }

    interface Thrower {
        void run(Path moved) throws Exception;
    }

    /** The path the swap moved {@code d} to; fails with what went wrong in it. */
    private static Path moved(AtomicReference<Object> moved) {
        if (moved.get() instanceof Path p) {
            return p;
        }
        throw new AssertionError("the swap: " + moved.get());
    }

    /** The name of the one temporary file of {@code name} in {@code directory}. */
    private static String tempIn(Path directory, String name) throws Exception {
        List<String> temps = names(directory).stream().filter(n -> n.startsWith("." + name + ".agentd-")).toList();
        assertEquals(1, temps.size(), "one temporary file in " + directory + ": " + names(directory));
        return temps.get(0);
    }

    /** {@code d} back as it was: the link removed, d-moved moved back. */
    private static void unswap(Path d, AtomicReference<Object> moved) throws Exception {
        Files.delete(d);
        Files.move(moved(moved), d);
        moved.set(null);
    }

    /**
     * A Copy renames its temporary file over the destination in the directory it was made in.
     * Before, the agent's own Copy did it by path: with the directory swapped for a link to a sticky
     * directory anyone may write (standing for /tmp) while the file was copied, a file the guest made
     * there under the temporary name was renamed, as root, over another user's file of the
     * destination's name, and the copy itself stayed behind under its temporary name.
     */
    @Test
    void aCopyIsRenamedWhereItsTemporaryFileWasMadeOnly() throws Exception {
        Files.setAttribute(victim, "unix:mode", 01777);
        Path others = Files.writeString(victim.resolve("f"), "another user's");
        Files.setAttribute(others, "unix:uid", 12345);
        Path d = anyones(dir.resolve("d"));
        for (String user : new String[] {null, "nobody"}) {
            AtomicReference<Object> moved = new AtomicReference<>();
            AtomicReference<Path> planted = new AtomicReference<>();
            swapAtTheFirstPause(d, moved, to -> planted.set(
                    Files.writeString(victim.resolve(tempIn(to, "f")), "the guest's")));
            FsResponse copied = fs.run(new FsOp.Copy(src.toString(), d.resolve("f").toString()), user);
            Path from = moved(moved);
            assertEquals("another user's", Files.readString(others), user + ": " + copied);
            assertEquals("the guest's", Files.readString(planted.get()), user + ": the guest's file stays where it was");
            assertTrue(copied.ok(), user + ": " + copied);
            assertEquals(List.of("f"), names(from), user + ": the copy is in the directory it was made in, whole");
            assertEquals("the host's", Files.readString(from.resolve("f")));
            Files.delete(planted.get());
            Files.delete(from.resolve("f"));
            unswap(d, moved);
        }
    }

    /**
     * A Copy that fails on the way (here ENOSPC: the destination's directory on a small tmpfs)
     * removes its temporary file from the directory it was made in. Before, the agent's own Copy
     * removed it by path, as root: with the directory swapped for a link meanwhile, a file of the
     * same name there (the victim's) went instead, and the temporary file stayed.
     */
    @Test
    void aFailedCopysTemporaryFileIsRemovedWhereItWasMadeOnly() throws Exception {
        Path small = Files.createDirectory(dir.resolve("small"));
        mount(small);
        try {
            Files.setPosixFilePermissions(small, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path d = anyones(small.resolve("d"));
            byte[] random = new byte[2 << 20];
            new Random(5).nextBytes(random); // no zeros to leave out: every block is written
            Path big = Files.write(dir.resolve("big"), random);
            Files.setPosixFilePermissions(big, PosixFilePermissions.fromString("rw-r--r--"));
            for (String user : new String[] {null, "nobody"}) {
                AtomicReference<Object> moved = new AtomicReference<>();
                swapAtTheFirstPause(d, moved, to -> Files.writeString(victim.resolve(tempIn(to, "f")), "the victim's"));
                FsResponse copied = fs.run(new FsOp.Copy(big.toString(), d.resolve("f").toString()), user);
                Path from = moved(moved);
                assertEquals("ENOSPC", copied.errnoName(), user + ": " + copied);
                List<String> decoys = names(victim);
                assertEquals(1, decoys.size(), user + ": the victim's file of the same name is still there");
                assertEquals("the victim's", Files.readString(victim.resolve(decoys.get(0))));
                assertEquals(List.of(), names(from), user + ": the temporary file is removed");
                Files.delete(victim.resolve(decoys.get(0)));
                unswap(d, moved);
            }
        } finally {
            new ProcessBuilder("umount", small.toString()).inheritIO().start().waitFor();
        }
    }

    /**
     * A tree Copy makes its top directory in the destination's directory and opens it there. Before,
     * the agent's own Copy made it by path and opened it by path again: with the directory swapped in
     * between for a link to root's (standing for /root, a copy to /tmp/u/.ssh), the tree was copied
     * into root's directory of that name, root's file there replaced.
     */
    @Test
    void aTreeCopyLandsInTheDirectoryItMadeOnly() throws Exception {
        Path tree = Files.createDirectory(dir.resolve("tree"));
        Files.setPosixFilePermissions(tree, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path key = Files.writeString(tree.resolve("key"), "the host's");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
        Path roots = anyones(victim.resolve("t"));
        Path rootsKey = Files.writeString(roots.resolve("key"), "root's");
        Path d = anyones(dir.resolve("d"));
        for (String user : new String[] {null, "nobody"}) {
            AtomicReference<Object> moved = new AtomicReference<>();
            swapAtTheFirstPause(d, moved, to -> {});
            FsResponse copied = fs.run(new FsOp.Copy(tree.toString(), d.resolve("t").toString()), user);
            Path from = moved(moved);
            assertEquals("root's", Files.readString(rootsKey), user + ": " + copied);
            assertEquals(List.of("key"), names(roots), user + ": nothing made in root's directory");
            assertTrue(copied.ok(), user + ": " + copied);
            assertEquals("the host's", Files.readString(from.resolve("t/key")), user + ": the tree is where it was made");
            Files.delete(from.resolve("t/key"));
            Files.delete(from.resolve("t"));
            unswap(d, moved);
        }
    }

    /**
     * A user's tree Copy to a link the user made to a name in a directory the user cannot search
     * answers the same whether the name is there or not (EEXIST: a link at dst). Before, the check
     * "is the destination inside the source" looked the destination up with Files.exists, which asks
     * access(2), and access(2) checks the real uid, root's: a name there was then resolved with the
     * user's rights (EACCES), a name not there went on to EEXIST.
     */
    @Test
    void aUsersTreeCopyCannotTellWhatAHiddenDirectoryHolds() throws Exception {
        Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rwx------"));
        Files.writeString(victim.resolve("there"), "root's");
        Path tree = Files.createDirectory(dir.resolve("tree"));
        Files.setPosixFilePermissions(tree, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path d = anyones(dir.resolve("d"));
        Path toThere = Files.createSymbolicLink(d.resolve("there"), victim.resolve("there"));
        Path toMissing = Files.createSymbolicLink(d.resolve("missing"), victim.resolve("missing"));
        FsResponse there = fs.run(new FsOp.Copy(tree.toString(), toThere.toString()), "nobody");
        FsResponse missing = fs.run(new FsOp.Copy(tree.toString(), toMissing.toString()), "nobody");
        assertEquals("EEXIST", there.errnoName(), there.toString());
        assertEquals("EEXIST", missing.errnoName(), missing.toString());
        assertEquals(List.of("there"), names(victim));
    }

    private static void mount(Path at) throws Exception {
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", at.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        Assumptions.assumeTrue(p.waitFor() == 0, "tmpfs mount refused here: " + out);
    }

    private static List<String> names(Path directory) throws Exception {
        try (Stream<Path> all = Files.list(directory)) {
            return all.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
