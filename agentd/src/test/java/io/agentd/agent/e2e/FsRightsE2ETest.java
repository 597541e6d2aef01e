package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.FsSetAttrs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The {@code user} extension and errors that need root to set up: needs root (CI runs as root; the
 * tests are skipped otherwise). The agent runs as root; an operation with {@code user: "nobody"}
 * meets nobody's permission checks, and the worker gets root's rights back after it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FsRightsE2ETest {
    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("fs-rights");

    private Path dir;

    @BeforeEach
    void rootOnly() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root");
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/e2e").toAbsolutePath()), "fs-rights-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private FsResponse as(FsHost fs, String user, FsOp op) throws Exception {
        return fs.call(new FsRequest(op, user, true));
    }

    @Test
    void nobodyMeetsNobodysPermissionsAndRootsComeBack(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        Path secret = Files.createDirectory(dir.resolve("secret"));
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rwx------"));
        Files.writeString(secret.resolve("key"), "k");

        for (int i = 0; i < 4; i++) { // more times than there are workers: each one is put back
            FsResponse denied = as(fs, "nobody", new FsOp.OpenFile(secret.resolve("new").toString(),
                    FsOpenOptions.replacing(null)));
            assertFalse(denied.ok());
            assertEquals("EACCES", denied.errnoName(), denied.toString());
            assertEquals("EACCES", as(fs, "nobody", new FsOp.Stat(secret.resolve("key").toString(), true)).errnoName());
            assertEquals("EACCES", as(fs, "65534:65534", new FsOp.ListDir(secret.toString())).errnoName());
            // The same operations without a user run with the agent's (root's) rights.
            assertTrue(fs.call(new FsOp.Stat(secret.resolve("key").toString(), true)).ok());
        }

        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        FsResponse made = as(fs, "nobody", new FsOp.Mkdir(shared.resolve("mine").toString(), null));
        assertTrue(made.ok(), made.toString());
        assertEquals(65534, Files.getAttribute(shared.resolve("mine"), "unix:uid"), "created with nobody's fs uid");
        assertEquals(65534, Files.getAttribute(shared.resolve("mine"), "unix:gid"));
        FsResponse chown = as(fs, "nobody", new FsOp.SetStat(shared.resolve("mine").toString(), true,
                new io.agentd.protocol.payload.FsSetAttrs(null, 0L, null, null, null, null)));
        assertEquals("EPERM", chown.errnoName(), "nobody may not give a file to root: " + chown);

        FsResponse unknown = as(fs, "no-such-user-here", new FsOp.Stat(dir.toString(), true));
        assertFalse(unknown.ok());
        assertTrue(unknown.error().contains("no such user"), unknown.error());
    }

    /**
     * Copy keeps the set-user-id and set-group-id bits only where the copy keeps the source's owner
     * and group, as cp(1) does: a copy made as root of nobody's setuid program was a setuid-root
     * program with bytes nobody chose (a review's).
     */
    @Test
    void aCopyWithAnotherOwnerLosesTheSetIdBits(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        Path shared = Files.createDirectory(dir.resolve("set-ids"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path tool = Files.writeString(shared.resolve("tool"), "#!/bin/sh\nid\n");
        Files.setAttribute(tool, "unix:uid", 65534);
        Files.setAttribute(tool, "unix:gid", 65534);
        Files.setAttribute(tool, "unix:mode", 06755);
        assertEquals(06755, (Integer) Files.getAttribute(tool, "unix:mode") & 07777);

        assertTrue(fs.call(new FsOp.Copy(tool.toString(), shared.resolve("as-root").toString())).ok());
        Path asRoot = shared.resolve("as-root");
        assertEquals(0, Files.getAttribute(asRoot, "unix:uid"));
        assertEquals(0755, (Integer) Files.getAttribute(asRoot, "unix:mode") & 07777, "root's copy: no set-id bit");

        FsResponse mine = as(fs, "nobody", new FsOp.Copy(tool.toString(), shared.resolve("as-nobody").toString()));
        assertTrue(mine.ok(), mine.toString());
        assertEquals(06755, (Integer) Files.getAttribute(shared.resolve("as-nobody"), "unix:mode") & 07777,
                "the owner's own copy keeps them");
    }

    /**
     * A link a guest user plants to /proc/self/fd/N is not followed by a request with that user: the
     * worker is a thread of the agent, and the kernel lets a process into its own /proc/self/fd
     * whatever its fs uid, so such a link reached the files and directories the agent held open (here
     * another request's handles in a directory nobody cannot enter), which nobody's own processes
     * cannot (a review read a root-private file so). Links elsewhere are followed as before.
     */
    @Test
    void aUsersLinkIntoTheAgentsOwnDescriptorsIsNotFollowed(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        Path secret = heldOpenBehind0700(fs, "private").getParent();
        assertTrue(fs.call(new FsOp.OpenDir(secret.toString())).ok());
        Path box = Files.createDirectory(secret.resolve("box")); // anyone's, but behind the 0700 directory
        Files.setPosixFilePermissions(box, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertTrue(fs.call(new FsOp.OpenDir(box.toString())).ok());
        Path shared = Files.writeString(dir.resolve("shared-file"), "anyone's");

        Path links = Files.createDirectory(dir.resolve("links"));
        List<Path> planted = linksToTheAgentsDescriptors(links);
        for (Path link : planted) {
            FsResponse stat = as(fs, "nobody", new FsOp.Stat(link.toString(), true));
            assertEquals("ELOOP", stat.errnoName(), link + ": " + stat);
            FsResponse open = as(fs, "nobody", new FsOp.OpenFile(link.toString(), FsOpenOptions.reading()));
            assertEquals("ELOOP", open.errnoName(), link + ": " + open);
            FsResponse list = as(fs, "nobody", new FsOp.ListDir(link.toString()));
            assertEquals("ELOOP", list.errnoName(), link + ": " + list);
            FsResponse setStat = as(fs, "nobody", new FsOp.SetStat(link.toString(), true,
                    new FsSetAttrs(0666L, null, null, null, null, null)));
            assertEquals("ELOOP", setStat.errnoName(), link + ": " + setStat);
            // Made below it: each way a file is made (new, created, atomic, a Copy's destination).
            for (FsOpenOptions making : List.of(new FsOpenOptions(false, true, false, false, false, true, null),
                    FsOpenOptions.replacing(null), new FsOpenOptions(false, true, false, true, true, false, null, true))) {
                FsResponse made = as(fs, "nobody", new FsOp.OpenFile(link.resolve("made").toString(), making));
                assertEquals("ELOOP", made.errnoName(), link + "/made " + making + ": " + made);
            }
            FsResponse copy = as(fs, "nobody", new FsOp.Copy(shared.toString(), link.resolve("copied").toString()));
            assertEquals("ELOOP", copy.errnoName(), link + "/copied: " + copy);
        }
        try (java.util.stream.Stream<Path> made = Files.list(box)) {
            assertEquals(List.of(), made.toList(), "nothing made in the box nobody cannot reach");
        }
        assertTrue(as(fs, "nobody", new FsOp.Stat(planted.get(0).toString(), true)).error().contains("a link into /proc"));

        Path plainLink = Files.createSymbolicLink(links.resolve("plain"), shared);
        assertTrue(as(fs, "nobody", new FsOp.Stat(plainLink.toString(), true)).ok(), "a plain link is followed");
        assertTrue(as(fs, "nobody", new FsOp.OpenFile(plainLink.toString(), FsOpenOptions.reading())).ok());
        assertTrue(as(fs, "nobody", new FsOp.ListDir(Files.createSymbolicLink(links.resolve("to-dir"), dir)
                .toString())).ok(), "a plain link to a directory is followed");

        // A tree walked with a user opens its own directories' entries relative to them, a name
        // with a line break too (the first version matched them as host paths, and failed ELOOP).
        Path tree = Files.createDirectories(dir.resolve("nobodys-tree/new\nline/inner"));
        Files.writeString(tree.resolve("f"), "in a tree");
        try (java.util.stream.Stream<Path> all = Files.walk(dir.resolve("nobodys-tree"))) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Files.setAttribute(p, "unix:uid", 65534);
                Files.setAttribute(p, "unix:gid", 65534);
            }
        }
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        FsResponse treeCopy = as(fs, "nobody", new FsOp.Copy(dir.resolve("nobodys-tree").toString(),
                dir.resolve("tree-copy").toString()));
        assertTrue(treeCopy.ok(), treeCopy.toString());
        assertEquals("in a tree", Files.readString(dir.resolve("tree-copy/new\nline/inner/f")));
        FsResponse treeRemoved = as(fs, "nobody", new FsOp.RemoveDir(dir.resolve("nobodys-tree").toString(), true));
        assertTrue(treeRemoved.ok(), treeRemoved.toString());
        assertFalse(Files.exists(dir.resolve("nobodys-tree")));
    }

    /**
     * Nor does a request with a user reach the agent's descriptors by naming /proc/self/fd/N (or
     * /proc/self/fd/N/NAME) itself: the fs code's own paths into descriptors it holds have that
     * form and were opened as they are (N itself) or relative to N (NAME), so a host path of that
     * form went past RESOLVE_NO_MAGICLINKS: nobody stat'ed and read a file behind a 0700 directory
     * that another request held open, and made a file in a directory it held open (found by a
     * probe of the documents against the running agent). For a user's process /proc/self/fd is
     * its own descriptors, never the agent's: such a path is ELOOP, "a link into /proc", whoever
     * wrote it.
     */
    @Test
    void aUserRequestNamingTheAgentsOwnDescriptorPathIsRefused(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        Path secret = heldOpenBehind0700(fs, "private-named").getParent();
        Path box = Files.createDirectory(secret.resolve("box"));
        Files.setPosixFilePermissions(box, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.writeString(box.resolve("inside"), "in the box");
        assertTrue(fs.call(new FsOp.OpenDir(box.toString())).ok());

        List<String> named = new java.util.ArrayList<>();
        try (java.util.stream.Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(agent.process().pid()), "fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                named.add("/proc/self/fd/" + fd.getFileName());
            }
        }
        assertTrue(named.size() > 10, "the agent's descriptors: " + named);
        for (String path : named) {
            FsResponse stat = as(fs, "nobody", new FsOp.Stat(path, true));
            assertEquals("ELOOP", stat.errnoName(), path + ": " + stat);
            assertTrue(stat.error().contains("a link into /proc"), stat.error());
            FsResponse open = as(fs, "nobody", new FsOp.OpenFile(path, FsOpenOptions.reading()));
            assertEquals("ELOOP", open.errnoName(), path + ": " + open);
            FsResponse real = as(fs, "nobody", new FsOp.RealPath(path));
            assertEquals("ELOOP", real.errnoName(), path + ": " + real);
            FsResponse made = as(fs, "nobody", new FsOp.OpenFile(path + "/made", FsOpenOptions.replacing(null)));
            assertEquals("ELOOP", made.errnoName(), path + "/made: " + made);
            FsResponse inside = as(fs, "nobody", new FsOp.Stat(path + "/inside", false));
            assertEquals("ELOOP", inside.errnoName(), path + "/inside: " + inside);
            FsResponse removed = as(fs, "nobody", new FsOp.Remove(path + "/inside"));
            assertEquals("ELOOP", removed.errnoName(), path + "/inside: " + removed);
        }
        assertEquals("in the box", Files.readString(box.resolve("inside")), "the box's file left alone");
        try (java.util.stream.Stream<Path> made = Files.list(box)) {
            assertEquals(List.of(box.resolve("inside")), made.toList(), "nothing made in the box nobody cannot reach");
        }
        // The agent's own requests (no user) name what they like, as before.
        assertTrue(fs.call(new FsOp.Stat(named.get(0), true)).ok());
    }

    /**
     * Nor does a request with a user read the agent's descriptors' links by another spelling of their
     * directory (/dev/fd, /proc/thread-self/fd, /proc/PID/fd, ../ in it): ReadLink and Stat without
     * following act on the name in the directory above it, which those spellings reach without a
     * magic link, and told nobody the path of a file another host held open behind a 0700 directory
     * (found by probing the refusal of /proc/self/fd/N with other spellings).
     */
    @Test
    void aUserCannotReadTheAgentsDescriptorLinksByAnotherSpelling(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        Path held = heldOpenBehind0700(fs, "private-spelled");
        long pid = agent.process().pid();
        String number = null;
        try (java.util.stream.Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    if (Files.readSymbolicLink(fd).equals(held)) {
                        number = fd.getFileName().toString();
                    }
                } catch (java.io.IOException closedMeanwhile) {
                    // another descriptor, gone since the listing
                }
            }
        }
        assertTrue(number != null, "the agent holds the file open");
        for (String directory : List.of("/dev/fd/", "/proc/thread-self/fd/", "/proc/" + pid + "/fd/",
                "/proc/self/fd/../fd/", "/proc/self/./fd/", "/proc/self/task/" + pid + "/fd/")) {
            String path = directory + number;
            FsResponse link = as(fs, "nobody", new FsOp.ReadLink(path));
            assertEquals("ELOOP", link.errnoName(), path + ": " + link);
            assertTrue(link.error().contains("a link into /proc"), link.error());
            assertFalse(link.toString().contains(held.getFileName().toString()), link.toString());
            FsResponse stat = as(fs, "nobody", new FsOp.Stat(path, false));
            assertEquals("ELOOP", stat.errnoName(), path + ": " + stat);
        }
        // The agent's own requests (no user) read them as before.
        assertTrue(fs.call(new FsOp.ReadLink("/dev/fd/" + number)).ok());
    }

    /**
     * A file anyone may read in a new directory {@code name} only root may enter, held open by the
     * agent for {@code fs}'s host: what a request with a user must not reach through the agent's
     * own descriptors.
     */
    private Path heldOpenBehind0700(FsHost fs, String name) throws Exception {
        Path secret = Files.createDirectory(dir.resolve(name));
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rwx------"));
        Path readable = Files.writeString(secret.resolve("readable-but-behind-0700"), "root's");
        Files.setPosixFilePermissions(readable, PosixFilePermissions.fromString("rw-r--r--"));
        fs.open(readable.toString(), FsOpenOptions.reading());
        return readable;
    }

    /** A link in {@code links} to /proc/self/fd/N for each descriptor N the agent has open now. */
    private static List<Path> linksToTheAgentsDescriptors(Path links) throws Exception {
        List<Path> planted = new java.util.ArrayList<>();
        try (java.util.stream.Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(agent.process().pid()), "fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                planted.add(Files.createSymbolicLink(links.resolve("fd" + fd.getFileName()),
                        Path.of("/proc/self/fd", fd.getFileName().toString())));
            }
        }
        assertTrue(planted.size() > 10, "the agent's descriptors: " + planted);
        return planted;
    }

    /**
     * Nor is such a link followed as a directory above the name an operation acts on: Remove,
     * RemoveDir, Rename (either side), Mkdir, Symlink, ReadLink, RealPath, Stat and SetStat without
     * following, and a Copy of a link or a directory each resolved the directories above the name by
     * name, so {@code link/NAME} reached the entries of a directory the agent held open (here another
     * request's handle of a directory anyone may write, behind one nobody cannot enter): nobody
     * removed, renamed, made and read them there. A plain link above the name is followed as before.
     */
    @Test
    void aUsersLinkIntoTheAgentsOwnDescriptorsIsNotFollowedAboveAName(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        Path secret = Files.createDirectory(dir.resolve("private-above"));
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rwx------"));
        Path box = Files.createDirectory(secret.resolve("box")); // anyone's, but behind the 0700 directory
        Files.setPosixFilePermissions(box, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.writeString(box.resolve("file"), "root's");
        Files.writeString(box.resolve("doomed"), "root's");
        Files.createDirectory(box.resolve("dir"));
        Files.createDirectories(box.resolve("tree/inner"));
        Files.createSymbolicLink(box.resolve("link"), Path.of("root's link target"));
        Path nobodys = Files.writeString(box.resolve("nobodys"), "nobody's");
        Files.setAttribute(nobodys, "unix:uid", 65534);
        List<String> inTheBox = names(box);
        assertTrue(fs.call(new FsOp.OpenDir(box.toString())).ok());
        Path open = Files.createDirectory(dir.resolve("open-to-nobody"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path mine = Files.writeString(open.resolve("mine"), "nobody's own");
        Files.setAttribute(mine, "unix:uid", 65534);
        Path aLink = Files.createSymbolicLink(open.resolve("a-link"), Path.of("anywhere"));
        Path aDir = Files.createDirectory(open.resolve("a-dir"));

        Path links = Files.createDirectory(dir.resolve("links-above"));
        for (Path link : linksToTheAgentsDescriptors(links)) {
            String in = link.toString() + "/";
            List<FsOp> ops = List.of(
                    new FsOp.Stat(in + "file", false),
                    new FsOp.ReadLink(in + "link"),
                    new FsOp.RealPath(in + "file"),
                    new FsOp.SetStat(in + "nobodys", false, new FsSetAttrs(null, null, null, null, 1L, 1L)),
                    new FsOp.Copy(in + "link", open.resolve("copied-link").toString()),
                    new FsOp.Copy(aLink.toString(), in + "copied-link"),
                    new FsOp.Copy(aDir.toString(), in + "copied-dir"),
                    new FsOp.Symlink("/etc", in + "planted"),
                    new FsOp.Mkdir(in + "made", null),
                    new FsOp.Mkdir(in + "made/below", null),
                    new FsOp.Rename(mine.toString(), in + "put"),
                    new FsOp.Rename(in + "file", open.resolve("taken").toString()),
                    new FsOp.Remove(in + "doomed"),
                    new FsOp.RemoveDir(in + "dir", false),
                    new FsOp.RemoveDir(in + "tree", true));
            for (FsOp op : ops) {
                FsResponse refused = as(fs, "nobody", op);
                assertEquals("ELOOP", refused.errnoName(), op + ": " + refused);
                assertTrue(refused.error().contains("a link into /proc"), refused.error());
            }
        }
        assertEquals(inTheBox, names(box), "nothing removed, moved or made in the box nobody cannot reach");
        assertTrue(((FileTime) Files.getAttribute(nobodys, "lastModifiedTime")).to(TimeUnit.SECONDS) > 1,
                "the times of nobody's file in the box are untouched");
        assertTrue(Files.exists(mine), "nobody's file was not moved into the box");
        assertEquals(List.of("a-dir", "a-link", "mine"), names(open), "nothing taken out of the box");

        // The same operations through a plain link above the name act as before.
        String via = Files.createSymbolicLink(links.resolve("plain"), open).toString() + "/";
        for (FsOp op : List.of(new FsOp.Mkdir(via + "made/below", null), new FsOp.Symlink("anywhere", via + "planted"),
                new FsOp.ReadLink(via + "planted"), new FsOp.RealPath(via + "made/below"),
                new FsOp.Stat(via + "planted", false), new FsOp.SetStat(via + "mine", false,
                        new FsSetAttrs(null, null, null, null, 1L, 1L)), new FsOp.Copy(via + "a-link", via + "copied-link"),
                new FsOp.Copy(via + "a-dir", via + "copied-dir"), new FsOp.Rename(via + "mine", via + "moved"),
                new FsOp.Remove(via + "planted"), new FsOp.RemoveDir(via + "made", true))) {
            FsResponse done = as(fs, "nobody", op);
            assertTrue(done.ok(), op + ": " + done);
        }
        assertEquals(List.of("a-dir", "a-link", "copied-dir", "copied-link", "moved"), names(open));
        FsResponse real = as(fs, "nobody", new FsOp.RealPath(via + "a-dir"));
        assertEquals(aDir.toRealPath().toString(), ((FsResponseData.Path) real.data()).path(), real.toString());
    }

    /**
     * With a user, the operations on a name act on it in the directory above, opened without a magic
     * link, and Mkdir makes each missing directory so: they answer as the agent's own do (by path,
     * Files.createDirectories for Mkdir) on the same tree, in a directory anyone may write.
     */
    @Test
    void aUsersOperationsOnANameAnswerAsTheAgentsOwnDo(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        for (String who : List.of("root", "nobody")) {
            Path top = Files.createDirectory(dir.resolve("names-" + who));
            Files.setPosixFilePermissions(Files.createDirectory(top.resolve("there")),
                    PosixFilePermissions.fromString("rwxrwxrwx"));
            Files.writeString(top.resolve("file"), "");
            Files.writeString(top.resolve("another"), "");
            Files.createSymbolicLink(top.resolve("to-dir"), top.resolve("there"));
            Files.createSymbolicLink(top.resolve("dangling"), top.resolve("nowhere"));
            if (who.equals("nobody")) {
                try (java.util.stream.Stream<Path> all = Files.walk(top)) {
                    for (Path p : (Iterable<Path>) all::iterator) {
                        Files.setAttribute(p, "unix:uid", 65534, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    }
                }
            }
            Files.setPosixFilePermissions(top, PosixFilePermissions.fromString("rwxrwxrwx"));
        }
        List<String> names = List.of("new", "file", "there", "there/", "to-dir", "dangling", "file/below", "file/",
                "there/x", "to-dir/x", "dangling/x", "nowhere/x", "there/..", "there/.", "a/b/c", "to-dir/x/y",
                "dangling/below", "there/../again", "there/./dot/");
        List<java.util.function.BiFunction<String, String, FsOp>> ops = List.of(
                (top, name) -> new FsOp.Stat(top + "/" + name, false),
                (top, name) -> new FsOp.ReadLink(top + "/" + name),
                (top, name) -> new FsOp.RealPath(top + "/" + name),
                (top, name) -> new FsOp.SetStat(top + "/" + name, false, new FsSetAttrs(null, null, null, null, 1L, 1L)),
                (top, name) -> new FsOp.Copy(top + "/another", top + "/" + name),
                (top, name) -> new FsOp.Symlink("target", top + "/" + name),
                (top, name) -> new FsOp.Mkdir(top + "/" + name, 0750L),
                (top, name) -> new FsOp.Rename(top + "/" + name, top + "/renamed"),
                (top, name) -> new FsOp.Rename(top + "/another", top + "/" + name),
                (top, name) -> new FsOp.Remove(top + "/" + name),
                (top, name) -> new FsOp.RemoveDir(top + "/" + name, true));
        String asRoot = dir.resolve("names-root").toString();
        String asNobody = dir.resolve("names-nobody").toString();
        for (var op : ops) {
            for (String name : names) {
                FsResponse root = fs.call(op.apply(asRoot, name));
                FsResponse nobody = as(fs, "nobody", op.apply(asNobody, name));
                assertEquals(root.errnoName(), nobody.errnoName(), name + ": " + root + " and " + nobody);
                if (root.data() instanceof FsResponseData.Path path) { // ReadLink's and RealPath's
                    assertEquals(path.path().replace(asRoot, asNobody), ((FsResponseData.Path) nobody.data()).path(), name);
                } else if (root.data() instanceof FsResponseData.Stat stat) {
                    assertEquals(stat.info().kind(), ((FsResponseData.Stat) nobody.data()).info().kind(), name);
                }
            }
        }
    }

    private static List<String> names(Path directory) throws Exception {
        try (java.util.stream.Stream<Path> all = Files.list(directory)) {
            return all.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /**
     * Setting times needs ownership, not read permission: {@code cp -a -u USER} sets a copied file's
     * mode and times in one FSetStat (or SetStat), and a mode without owner-read (000, 0200) must not
     * make the times, and with them the whole copy, fail with EACCES.
     */
    @Test
    void theOwnerSetsTimesWhateverTheModeItSetsOrHas(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        Path shared = Files.createDirectory(dir.resolve("times"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        long atime = 1_000_000_000L;
        long mtime = 1_100_000_000L;
        for (long mode : new long[] {0, 0200}) {
            FsSetAttrs modeAndTimes = new FsSetAttrs(mode, null, null, null, atime, mtime);

            Path file = shared.resolve("file-" + Long.toOctalString(mode));
            long made = ((FsResponseData.Handle) as(fs, "nobody", new FsOp.OpenFile(file.toString(),
                    FsOpenOptions.replacing(0600L))).data()).handle();
            assertTrue(fs.call(new FsOp.CloseHandle(made)).ok());
            FsResponse byPath = as(fs, "nobody", new FsOp.SetStat(file.toString(), true, modeAndTimes));
            assertTrue(byPath.ok(), "SetStat mode " + Long.toOctalString(mode) + " and times: " + byPath);
            assertModeAndTimes(file, mode, atime, mtime);
            // Times alone on a file that already has that mode.
            FsResponse timesAlone = as(fs, "nobody", new FsOp.SetStat(file.toString(), true,
                    new FsSetAttrs(null, null, null, null, atime + 1, mtime + 1)));
            assertTrue(timesAlone.ok(), "SetStat times on a file of mode " + Long.toOctalString(mode) + ": " + timesAlone);
            assertModeAndTimes(file, mode, atime + 1, mtime + 1);

            Path uploaded = shared.resolve("upload-" + Long.toOctalString(mode));
            long handle = ((FsResponseData.Handle) as(fs, "nobody", new FsOp.OpenFile(uploaded.toString(),
                    new FsOpenOptions(false, true, false, true, true, false, 0600L, true))).data()).handle();
            FsResponse byHandle = as(fs, "nobody", new FsOp.FSetStat(handle, modeAndTimes));
            assertTrue(byHandle.ok(), "FSetStat mode " + Long.toOctalString(mode) + " and times: " + byHandle);
            FsResponse closed = as(fs, "nobody", new FsOp.CloseHandle(handle));
            assertTrue(closed.ok(), closed.toString());
            assertModeAndTimes(uploaded, mode, atime, mtime);

            Path directory = shared.resolve("dir-" + Long.toOctalString(mode));
            assertTrue(as(fs, "nobody", new FsOp.Mkdir(directory.toString(), null)).ok());
            FsResponse onDirectory = as(fs, "nobody", new FsOp.SetStat(directory.toString(), true, modeAndTimes));
            assertTrue(onDirectory.ok(), "SetStat mode " + Long.toOctalString(mode) + " and times on a directory: "
                    + onDirectory);
            assertModeAndTimes(directory, mode, atime, mtime);
        }
    }

    private static void assertModeAndTimes(Path p, long mode, long atime, long mtime) throws Exception {
        assertEquals(65534, Files.getAttribute(p, "unix:uid"), p + " is nobody's");
        assertEquals(mode, ((Integer) Files.getAttribute(p, "unix:mode")) & 07777, p + " mode");
        assertEquals(atime, ((FileTime) Files.getAttribute(p, "lastAccessTime")).to(TimeUnit.SECONDS), p + " atime");
        assertEquals(mtime, ((FileTime) Files.getAttribute(p, "lastModifiedTime")).to(TimeUnit.SECONDS), p + " mtime");
    }

    @Test
    void noSpaceLeftIsEnospcAndAnAtomicUploadLeavesTheDestination(HostConnection host) throws Exception {
        Path mnt = Files.createDirectory(dir.resolve("small"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt.toString())
                .redirectErrorStream(true).start();
        Assumptions.assumeTrue(mount.waitFor() == 0, "cannot mount a tmpfs here");
        try {
            FsHost fs = new FsHost(host);
            Path dest = mnt.resolve("dest");
            Files.writeString(dest, "old");
            long h = fs.open(dest.toString(), new FsOpenOptions(false, true, false, true, true, false, null, true));
            FsResponse full = fs.write(h, 0, new byte[2 * 1024 * 1024], true, 256 * 1024);
            assertFalse(full.ok());
            assertEquals("ENOSPC", full.errnoName(), full.toString());
            assertFalse(fs.call(new FsOp.CloseHandle(h)).ok(), "the spoiled atomic upload says so at close");
            assertEquals("old", Files.readString(dest));
            try (var names = Files.list(mnt)) {
                assertEquals(List.of("dest"), names.map(p -> p.getFileName().toString()).toList());
            }
        } finally {
            new ProcessBuilder("umount", mnt.toString()).start().waitFor();
        }
    }
}
