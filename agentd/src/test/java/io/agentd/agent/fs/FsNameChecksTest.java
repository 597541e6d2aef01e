package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsSetAttrs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The checks an operation makes before it acts (a path that ends with /, OpenFile's "is it a
 * directory", an atomic upload's "is it there") look where the operation then acts: in the
 * directory above the name, opened once, without a magic link for a request with a user. Looked up
 * by name, they followed a user's link to /proc/self/fd/N into a directory the agent held open
 * (one the user cannot enter) and told the user what was there, and a name swapped between the
 * check and the act had the act land on what the check had refused. Needs root (a user's rights,
 * files of root's); FsService with the test thread as its loop and a real worker.
 */
class FsNameChecksTest {
    private final OneConnectionFs fs = new OneConnectionFs(Duration.ofSeconds(10));
    private Path dir;

    @BeforeEach
    void files() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root");
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/fs-checks").toAbsolutePath()), "t-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterEach
    void stop() {
        FsPaths.afterDirectoryCheck = () -> {};
        FsRegularFiles.createPause = () -> {};
        fs.close();
    }

    /**
     * nobody's link to the agent's descriptor of a directory behind one nobody cannot enter: each
     * check answers the same whatever is there (a file, a directory, nothing), the answer the
     * operation itself gives for a link into /proc. Before, by name, a check followed the link and
     * said what was there: "file/" was ENOTDIR (Stat, ListDir, Remove, Rename, Copy, Mkdir,
     * Symlink, OpenFile), a directory was EISDIR for an OpenFile to write, and an atomic upload's
     * "dir" EISDIR, "file" EEXIST with create_new and "missing" ENOENT without create, where
     * "file" was ELOOP.
     */
    @Test
    void aUsersLinkIntoTheAgentsDescriptorsLearnsNothingFromTheChecks() throws Exception {
        Path secret = Files.createDirectory(dir.resolve("secret"));
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rwx------"));
        Path box = Files.createDirectory(secret.resolve("box")); // anyone's, behind the 0700 directory
        Files.setPosixFilePermissions(box, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.writeString(box.resolve("file"), "root's");
        Files.createDirectory(box.resolve("dir"));
        assertTrue(fs.run(new FsOp.OpenDir(box.toString())).ok()); // the agent holds it open
        Path open = Files.createDirectory(dir.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path shared = Files.writeString(open.resolve("shared"), "anyone's");
        Path links = Files.createDirectory(dir.resolve("links"));
        List<Path> planted = linksTo(box, links);

        List<String> wrong = new ArrayList<>();
        for (Path link : planted) {
            for (String name : List.of("file", "dir", "missing")) {
                String in = link + "/" + name;
                Map<FsOp, String> expected = new LinkedHashMap<>();
                expected.put(new FsOp.Stat(in + "/", true), "ELOOP");
                expected.put(new FsOp.Stat(in + "/", false), "ELOOP");
                expected.put(new FsOp.ListDir(in + "/"), "ELOOP");
                expected.put(new FsOp.Remove(in + "/"), "ELOOP");
                expected.put(new FsOp.RemoveDir(in + "/", false), "ELOOP");
                expected.put(new FsOp.Rename(in + "/", open.resolve("taken").toString()), "ELOOP");
                expected.put(new FsOp.Copy(shared.toString(), in + "/"), "ELOOP");
                expected.put(new FsOp.Mkdir(in + "/", null), "ELOOP");
                expected.put(new FsOp.Symlink("t", in + "/"), "ENOENT"); // symlink(2)'s answer for NAME/, whatever is there
                expected.put(new FsOp.OpenFile(in + "/", FsOpenOptions.reading()), "ELOOP");
                expected.put(new FsOp.OpenFile(in, new FsOpenOptions(false, true, false, false, true, false, null)), "ELOOP");
                expected.put(new FsOp.OpenFile(in, new FsOpenOptions(false, true, false, false, false, true, null)), "ELOOP");
                // An atomic upload's: created, without create (nothing there the request may see: as
                // for a directory it cannot open, ENOENT), create_new.
                expected.put(new FsOp.OpenFile(in, new FsOpenOptions(false, true, false, true, true, false, null, true)), "ELOOP");
                expected.put(new FsOp.OpenFile(in, new FsOpenOptions(false, true, false, false, true, false, null, true)), "ENOENT");
                expected.put(new FsOp.OpenFile(in, new FsOpenOptions(false, true, false, false, false, true, null, true)), "ELOOP");
                for (var e : expected.entrySet()) {
                    FsResponse r = fs.run(e.getKey(), "nobody");
                    if (r.ok() || !e.getValue().equals(r.errnoName())) {
                        wrong.add(e.getKey().toString().replace(dir.toString(), "") + " -> "
                                + (r.ok() ? "ok" : r.errnoName()));
                    }
                }
            }
        }
        assertEquals(List.of(), wrong, "answers that tell what is behind the link");
        assertEquals(List.of("dir", "file"), names(box), "nothing made, removed or moved in the box");
        assertEquals(List.of("shared"), names(open));
    }

    /**
     * The agent's own SetStat of {@code d/} (a directory: the check passes), with {@code d} swapped
     * right after the check for a link to a file (standing for /etc/shadow): the chmod does not
     * follow it. Before, the check looked at {@code d} by name and the chmod acted on the name again,
     * through the link, on the file the check would have refused.
     */
    @Test
    void aDirectorySwappedForALinkAfterItsCheckIsNotFollowed() throws Exception {
        Path d = Files.createDirectory(dir.resolve("d"));
        Path victim = Files.writeString(dir.resolve("victim"), "root's");
        List<String> wrong = new ArrayList<>();
        for (FsOp op : List.of(new FsOp.SetStat(d + "/", true, new FsSetAttrs(0777L, null, null, null, null, null)),
                new FsOp.SetStat(d + "/", true, new FsSetAttrs(null, null, null, 0L, null, null)),
                new FsOp.OpenFile(d + "/", FsOpenOptions.reading()))) {
            Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rw-------"));
            Files.writeString(victim, "root's");
            FsPaths.afterDirectoryCheck = () -> swapForLink(d, victim);
            FsResponse r;
            try {
                r = fs.run(op);
            } finally {
                FsPaths.afterDirectoryCheck = () -> {};
            }
            assertTrue(Files.isSymbolicLink(d), "swapped: " + op);
            String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(victim));
            String content = Files.readString(victim);
            if (r.ok() || !"ENOTDIR".equals(r.errnoName()) || !mode.equals("rw-------") || !content.equals("root's")) {
                wrong.add(op.toString().replace(dir.toString(), "") + " -> " + (r.ok() ? "ok" : r.errnoName())
                        + ", the file " + mode + " \"" + content + "\"");
            }
            Files.delete(d);
            Files.move(dir.resolve("d-moved"), d);
        }
        assertEquals(List.of(), wrong, "acted on the file a link put in the place of d/ after its check");
    }

    /**
     * An OpenFile with create that finds a name missing, then a link there when it creates the file
     * O_EXCL, follows a link that names nothing to its target, but never takes the target of a
     * user's link for a path of the agent's own: a link to /proc/self/fd/N/NAME is ELOOP, as it is
     * when the open finds it first. Before, the target, a guest user's text, was opened as the fs
     * code opens its own /proc/self/fd/N/NAME, relative to N: nobody, who put the link in place
     * between the two (here at the pause), created a file of its own in a directory the agent held
     * open (another host's OpenDir of a directory behind one nobody cannot enter), and got a handle
     * to write it.
     */
    @Test
    void aUsersDanglingLinkIntoTheAgentsDescriptorsIsNotFollowed() throws Exception {
        Path secret = Files.createDirectory(dir.resolve("secret"));
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rwx------"));
        Path box = Files.createDirectory(secret.resolve("box")); // anyone's, behind the 0700 directory
        Files.setPosixFilePermissions(box, PosixFilePermissions.fromString("rwxrwxrwx"));
        FsResponse held = fs.run(new FsOp.OpenDir(box.toString()));
        assertTrue(held.ok(), held.toString());
        String fd = heldDescriptor(box);
        Path d = Files.createDirectory(dir.resolve("d"));
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path link = d.resolve("f");
        FsRegularFiles.createPause = () -> {
            try {
                Files.createSymbolicLink(link, Path.of("/proc/self/fd/" + fd + "/made"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            FsRegularFiles.createPause = () -> {};
        };
        FsResponse opened = fs.run(new FsOp.OpenFile(link.toString(),
                new FsOpenOptions(false, true, false, true, false, false, null)), "nobody");
        assertEquals(List.of(), names(box), "nothing made in the box: " + opened);
        assertFalse(opened.ok(), opened.toString());
        assertEquals("ELOOP", opened.errnoName(), opened.toString());
        assertTrue(Files.isSymbolicLink(link));

        // A link to a name that is not there is still followed, its target made, nobody's.
        Path plain = d.resolve("plain");
        FsRegularFiles.createPause = () -> {
            try {
                Files.createSymbolicLink(plain, Path.of("made-here"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            FsRegularFiles.createPause = () -> {};
        };
        FsResponse followed = fs.run(new FsOp.OpenFile(plain.toString(),
                new FsOpenOptions(false, true, false, true, false, false, null)), "nobody");
        assertTrue(followed.ok(), followed.toString());
        assertEquals(65534, Files.getAttribute(d.resolve("made-here"), "unix:uid"));
    }

    /** A descriptor of this process (the agent's) open on {@code directory}. */
    private static String heldDescriptor(Path directory) throws Exception {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    if (Files.readSymbolicLink(fd).equals(directory.toRealPath())) {
                        return fd.getFileName().toString();
                    }
                } catch (Exception gone) {
                    // the listing's own descriptor, closed since
                }
            }
        }
        throw new AssertionError("the agent holds " + directory + " open");
    }

    private void swapForLink(Path d, Path target) {
        try {
            Files.move(d, dir.resolve("d-moved"));
            Files.createSymbolicLink(d, target);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** A link in {@code links} to /proc/self/fd/N for each descriptor N this process holds on {@code directory}. */
    private static List<Path> linksTo(Path directory, Path links) throws Exception {
        List<Path> planted = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                Path target;
                try {
                    target = Files.readSymbolicLink(fd);
                } catch (Exception gone) {
                    continue; // the listing's own descriptor, closed since
                }
                if (target.equals(directory.toRealPath())) {
                    planted.add(Files.createSymbolicLink(links.resolve("fd" + fd.getFileName()),
                            Path.of("/proc/self/fd", fd.getFileName().toString())));
                }
            }
        }
        assertFalse(planted.isEmpty(), "the agent holds " + directory + " open");
        return planted;
    }

    private static List<String> names(Path directory) throws Exception {
        try (Stream<Path> all = Files.list(directory)) {
            return all.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
