package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.agentd.client.AgentClient;
import io.agentd.client.ConnectionLostException;
import io.agentd.client.fs.GuestOutputStream;
import io.agentd.client.fs.WriteOptions;
import io.agentd.testsupport.RunningAgent;
import java.io.File;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * agentctl cp (scripts/agentctl, a JVM of its own) against a real agentd on this machine: the
 * guest's file system is this machine's, so each test copies into a directory of its own and
 * checks the result with java.nio.file. The -u tests need root (to be root for the agent and to
 * make a directory another user cannot write); CI runs as root.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CpEndToEndTest {
    private static final Path ROOT =
            Path.of(System.getProperty("agentd.project.root", "..")).toAbsolutePath().normalize();
    private static final Path AGENTCTL = ROOT.resolve("scripts/agentctl");
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    private Path dir;
    private RunningAgent agentd;
    private Path socket;
    private int serial;

    record Result(int code, byte[] stdout, String stderr) {
        String out() {
            return new String(stdout);
        }
    }

    @BeforeAll
    void startAgent(@TempDir Path tempDir) throws Exception {
        dir = tempDir;
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x")); // -u nobody walks in
        socket = dir.resolve("agentd.sock");
        agentd = RunningAgent.listening(ROOT.resolve("scripts/agentd"), socket, List.of(), Map.of(),
                dir.resolve("agentd.log"));
        agentd.awaitSocket();
    }

    @AfterAll
    void stopAgent() throws Exception {
        if (agentd != null) {
            agentd.stop(Duration.ofSeconds(10));
        }
    }

    /** A fresh directory for one test. */
    private Path fresh(String name) throws Exception {
        Path p = dir.resolve(name + "-" + serial++);
        Files.createDirectory(p);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    private Result cp(String... args) throws Exception {
        return run(null, args);
    }

    private Result run(Path stdin, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(AGENTCTL.toString(), "--socket", socket.toString(), "cp"));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "out", "");
        Path err = Files.createTempFile(dir, "err", "");
        Process p = new ProcessBuilder(command)
                .redirectInput(stdin == null ? new File("/dev/null") : stdin.toFile())
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .start();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("agentctl cp " + String.join(" ", args) + " did not finish");
        }
        return new Result(p.exitValue(), Files.readAllBytes(out), Files.readString(err));
    }

    private static String guest(Path p) {
        return ":" + p;
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void aFileGoesToTheGuestAndBack() throws Exception {
        Path d = fresh("file");
        Path src = d.resolve("src.bin");
        byte[] content = random(3 * 1024 * 1024 + 17, 1);
        Files.write(src, content);
        Result up = cp(src.toString(), guest(d.resolve("up.bin")));
        assertEquals(0, up.code(), up.toString());
        assertEquals("", up.stderr(), "no progress line when stderr is not a terminal");
        assertArrayEquals(content, Files.readAllBytes(d.resolve("up.bin")));

        Path back = d.resolve("back.bin");
        Result down = cp(guest(d.resolve("up.bin")), back.toString());
        assertEquals(0, down.code(), down.toString());
        assertArrayEquals(content, Files.readAllBytes(back));
        try (Stream<Path> s = Files.list(d)) {
            assertEquals(3, s.count(), "no temporary file left beside them");
        }
    }

    @Test
    void anEmptyFileAndANameWithSpacesAndNewlinesBothWays() throws Exception {
        Path d = fresh("names");
        Path src = Files.createDirectory(d.resolve("src"));
        Files.write(src.resolve("empty"), new byte[0]);
        String odd = "a name with spaces\nand a newline";
        Files.writeString(src.resolve(odd), "odd\n");
        Path into = Files.createDirectory(d.resolve("guest"));
        Result up = cp(src.resolve("empty").toString(), src.resolve(odd).toString(), guest(into));
        assertEquals(0, up.code(), up.toString());
        assertEquals(0, Files.size(into.resolve("empty")));
        assertEquals("odd\n", Files.readString(into.resolve(odd)));

        Path back = Files.createDirectory(d.resolve("back"));
        Result down = cp(guest(into.resolve("empty")), guest(into.resolve(odd)), back.toString());
        assertEquals(0, down.code(), down.toString());
        assertTrue(Files.isRegularFile(back.resolve("empty")));
        assertEquals(0, Files.size(back.resolve("empty")));
        assertEquals("odd\n", Files.readString(back.resolve(odd)));
    }

    /** A tree with a subdirectory, modes, a relative link, a dangling link and an old mtime. */
    private Path tree(Path d) throws Exception {
        Path t = Files.createDirectory(d.resolve("tree"));
        Files.write(t.resolve("data"), random(200_000, 2));
        Files.writeString(t.resolve("run.sh"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(t.resolve("run.sh"), PosixFilePermissions.fromString("rwxr-x---"));
        Files.writeString(t.resolve("secret"), "s");
        Files.setPosixFilePermissions(t.resolve("secret"), PosixFilePermissions.fromString("rw-------"));
        Path sub = Files.createDirectory(t.resolve("sub"));
        Files.writeString(sub.resolve("inner"), "inner\n");
        Files.createSymbolicLink(t.resolve("link"), Path.of("sub/inner"));
        Files.createSymbolicLink(t.resolve("dangling"), Path.of("/nonexistent/target"));
        Files.setPosixFilePermissions(sub, PosixFilePermissions.fromString("rwxr-x--x"));
        FileTime old = FileTime.fromMillis(1_577_934_245_000L); // 2020-01-02
        for (String f : List.of("data", "run.sh", "secret", "sub/inner")) {
            Files.setLastModifiedTime(t.resolve(f), old);
        }
        Files.setLastModifiedTime(sub, old);
        return t;
    }

    private static void assertSameTree(Path a, Path b, boolean times) throws Exception {
        for (String f : List.of("data", "run.sh", "secret", "sub/inner")) {
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f);
            assertEquals(Files.getPosixFilePermissions(a.resolve(f)), Files.getPosixFilePermissions(b.resolve(f)), f);
            if (times) {
                assertEquals(Files.getLastModifiedTime(a.resolve(f)), Files.getLastModifiedTime(b.resolve(f)), f);
            } else {
                assertFalse(Files.getLastModifiedTime(a.resolve(f)).equals(Files.getLastModifiedTime(b.resolve(f))),
                        f + ": without -a the copy has the time of the copy");
            }
        }
        assertEquals(Files.getPosixFilePermissions(a.resolve("sub")), Files.getPosixFilePermissions(b.resolve("sub")));
        if (times) {
            assertEquals(Files.getLastModifiedTime(a.resolve("sub")), Files.getLastModifiedTime(b.resolve("sub")));
        }
        for (String l : List.of("link", "dangling")) {
            assertTrue(Files.isSymbolicLink(b.resolve(l)), l + " stays a link");
            assertEquals(Files.readSymbolicLink(a.resolve(l)), Files.readSymbolicLink(b.resolve(l)), l);
        }
    }

    /**
     * -a with a time no side can set (past 2262, as touch -d and tars can make): the file is copied
     * with its mode, and its times are reported (exit 1), either way. Before, the upload was refused
     * whole by the agent (the file lost) and the download clamped the time to 2262, saying nothing.
     */
    @Test
    void aTimePast2262IsReportedAndTheFileStillCopied() throws Exception {
        Path d = fresh("far-time");
        Path far = Files.writeString(d.resolve("far"), "far");
        Files.setPosixFilePermissions(far, PosixFilePermissions.fromString("rw-r-----"));
        Process touch = new ProcessBuilder("touch", "-d", "2400-01-01", far.toString()).inheritIO().start();
        assertEquals(0, touch.waitFor());
        for (String[] way : List.of(new String[] {far.toString(), guest(d.resolve("up"))},
                new String[] {guest(far), d.resolve("down").toString()})) {
            Result r = cp("-a", way[0], way[1]);
            assertEquals(1, r.code(), r.toString());
            assertTrue(r.stderr().startsWith("agentctl cp: preserving times for '" + way[1] + "': the time ")
                    && r.stderr().contains("outside the years 1677 to 2262"), r.stderr());
            Path copy = Path.of(way[1].replaceFirst("^:", ""));
            assertEquals("far", Files.readString(copy), "the file is copied all the same");
            assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(copy)));
        }
        // Copied though its times were not kept: this copy made it, and a second source of that name
        // does not replace it (cp(1)'s "will not overwrite just-created").
        Path other = Files.writeString(Files.createDirectory(d.resolve("other")).resolve("far"), "other");
        Path into = Files.createDirectory(d.resolve("into"));
        Result twice = cp("-a", far.toString(), other.toString(), guest(into));
        assertEquals(1, twice.code(), twice.toString());
        assertTrue(twice.stderr().contains("will not overwrite just-created"), twice.stderr());
        assertEquals("far", Files.readString(into.resolve("far")));
    }

    /** An empty operand (an unset variable) is no file: it copied the whole working directory. */
    @Test
    void anEmptyOperandIsNoFile() throws Exception {
        Path d = fresh("empty-operand");
        Result r = cp("", guest(d));
        assertEquals(1, r.code(), r.toString());
        assertEquals("agentctl cp: cannot stat '': No such file or directory\n", r.stderr());
        try (Stream<Path> s = Files.list(d)) {
            assertEquals(List.of(), s.toList(), "nothing copied");
        }
    }

    @Test
    void aTreeWithLinksAndModesBothWaysWithAndWithoutA() throws Exception {
        Path d = fresh("tree");
        Path t = tree(d);
        // into an existing directory: under the source's name
        Path g = Files.createDirectory(d.resolve("g"));
        Result up = cp("-a", t.toString(), guest(g));
        assertEquals(0, up.code(), up.toString());
        assertSameTree(t, g.resolve("tree"), true);

        // to a new name: the directory is created as that name
        Result down = cp("-a", guest(g.resolve("tree")), d.resolve("back").toString());
        assertEquals(0, down.code(), down.toString());
        assertSameTree(t, d.resolve("back"), true);

        // without -a: modes (less a umask none of these bits meet) but the times of the copy
        Result plain = cp(t.toString(), guest(d.resolve("plain")));
        assertEquals(0, plain.code(), plain.toString());
        assertSameTree(t, d.resolve("plain"), false);
        Result plainDown = cp(guest(d.resolve("plain")), d.resolve("plainback").toString());
        assertEquals(0, plainDown.code(), plainDown.toString());
        assertSameTree(t, d.resolve("plainback"), false);

        // "DIR/." copies the contents into an existing directory
        Path contents = Files.createDirectory(d.resolve("contents"));
        Result dot = cp(t + "/.", guest(contents));
        assertEquals(0, dot.code(), dot.toString());
        assertTrue(Files.isRegularFile(contents.resolve("sub/inner")));
    }

    @Test
    void aTarStreamComesOutOfTheGuestAndGoesIntoIt() throws Exception {
        Path d = fresh("tar");
        Path t = tree(d);
        Result out = cp(guest(t), "-");
        assertEquals(0, out.code(), out.stderr());
        List<String> names = new ArrayList<>();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new java.io.ByteArrayInputStream(out.stdout()))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                names.add(e.getName());
                if (e.getName().equals("tree/run.sh")) {
                    assertEquals(0750, e.getMode() & 07777);
                    assertEquals(1_577_934_245_000L, e.getModTime().getTime());
                }
                if (e.getName().equals("tree/link")) {
                    assertTrue(e.isSymbolicLink());
                    assertEquals("sub/inner", e.getLinkName());
                }
            }
        }
        assertEquals(List.of("tree/", "tree/dangling", "tree/data", "tree/link", "tree/run.sh", "tree/secret",
                "tree/sub/", "tree/sub/inner"), names);

        Path archive = d.resolve("tree.tar");
        Files.write(archive, out.stdout());
        Path into = Files.createDirectory(d.resolve("into"));
        Result in = run(archive, "-", guest(into));
        assertEquals(0, in.code(), in.toString());
        assertSameTree(t, into.resolve("tree"), true); // a tar carries modes and times

        Result notADir = run(archive, "-", guest(t.resolve("data")));
        assertEquals(1, notADir.code(), notADir.toString());
        assertTrue(notADir.stderr().contains("Not a directory"), notADir.stderr());
    }

    /**
     * A source whose last name is ".." copies that directory's contents, as "DIR/." does (GNU cp:
     * "cp -r parent/child/.. dest/" fills dest), both ways and into a tar. Before, the ".." was
     * joined to the destination: the download wrote next to dest/, the upload into dest/ instead of
     * dest/inner/, and the tar's members were "../", "../child/" and "../pfile".
     */
    @Test
    void aSourceEndingInDotDotCopiesItsContentsAndNothingOutsideTheDestination() throws Exception {
        Path d = fresh("dotdot");
        Path parent = Files.createDirectories(d.resolve("parent/child"));
        Files.writeString(d.resolve("parent/pfile"), "secret\n");
        Path dest = Files.createDirectories(d.resolve("dest/inner"));

        Result down = cp(guest(d.resolve("parent/child")) + "/..", d.resolve("dest") + "/");
        assertEquals(0, down.code(), down.toString());
        try (Stream<Path> s = Files.list(d)) {
            assertEquals(List.of("dest", "parent"), s.map(p -> p.getFileName().toString()).sorted().toList(),
                    "nothing beside dest");
        }
        assertEquals("secret\n", Files.readString(d.resolve("dest/pfile")));
        assertTrue(Files.isDirectory(d.resolve("dest/child")));

        Result up = cp(d.resolve("parent/child") + "/../", guest(dest) + "/");
        assertEquals(0, up.code(), up.toString());
        assertEquals("secret\n", Files.readString(dest.resolve("pfile")));
        assertTrue(Files.isDirectory(dest.resolve("child")));
        try (Stream<Path> s = Files.list(d.resolve("dest"))) {
            assertEquals(List.of("child", "inner", "pfile"), s.map(p -> p.getFileName().toString()).sorted().toList(),
                    "nothing more in dest: the upload went into inner");
        }

        Result tar = cp(guest(d.resolve("parent/child")) + "/..", "-");
        assertEquals(0, tar.code(), tar.stderr());
        List<String> names = new ArrayList<>();
        try (TarArchiveInputStream in = new TarArchiveInputStream(new java.io.ByteArrayInputStream(tar.stdout()))) {
            for (TarArchiveEntry e; (e = in.getNextEntry()) != null; ) {
                names.add(e.getName());
            }
        }
        assertEquals(List.of("child/", "pfile"), names, "the contents, as for parent/.");
        assertTrue(Files.isDirectory(parent), "the source is left as it was");
    }

    /**
     * A tar carries each directory's own mode and each link's own mtime, as GNU tar's does. Before,
     * a directory its owner cannot write went out with the mode it was opened to (0555 as 0755,
     * 0500 as 0700: its header was written before the chmod), and a link with the time of the copy.
     */
    @Test
    void aTarCarriesDirectoriesOwnModesAndLinksOwnTimes() throws Exception {
        Path d = fresh("tarmodes");
        Path ro = Files.createDirectory(d.resolve("ro"));
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x")); // whatever the umask
        Files.writeString(Files.createDirectory(ro.resolve("d555")).resolve("f"), "f");
        Files.createDirectory(ro.resolve("d500"));
        Files.createSymbolicLink(ro.resolve("l"), Path.of("d555/f"));
        Process touch = new ProcessBuilder("touch", "-h", "-d", "2001-01-01 00:00:00 UTC", ro.resolve("l").toString())
                .start();
        assertEquals(0, touch.waitFor());
        Files.setPosixFilePermissions(ro.resolve("d555"), PosixFilePermissions.fromString("r-xr-xr-x"));
        Files.setPosixFilePermissions(ro.resolve("d500"), PosixFilePermissions.fromString("r-x------"));

        for (String flag : List.of("-a", "--")) {
            Result out = cp(flag, guest(ro), "-");
            assertEquals(0, out.code(), flag + ": " + out.stderr());
            Map<String, TarArchiveEntry> entries = new java.util.TreeMap<>();
            try (TarArchiveInputStream tar = new TarArchiveInputStream(
                    new java.io.ByteArrayInputStream(out.stdout()))) {
                for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
                    entries.put(e.getName(), e);
                }
            }
            assertEquals(List.of("ro/", "ro/d500/", "ro/d555/", "ro/d555/f", "ro/l"), List.copyOf(entries.keySet()));
            assertEquals(0555, entries.get("ro/d555/").getMode() & 07777, flag);
            assertEquals(0500, entries.get("ro/d500/").getMode() & 07777, flag);
            assertEquals(0755, entries.get("ro/").getMode() & 07777, flag);
            assertEquals(978_307_200_000L, entries.get("ro/l").getModTime().getTime(), flag + ": the link's own mtime");
        }
    }

    /** A tar of {@code entries} written with raw ISO-8859-1 names (any byte can be in one). */
    private static Path tarOf(Path file, List<TarArchiveEntry> entries, Map<String, byte[]> data) throws Exception {
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(Files.newOutputStream(file), "ISO-8859-1")) {
            for (TarArchiveEntry e : entries) {
                byte[] bytes = data.getOrDefault(e.getName(), new byte[0]);
                if (e.isFile()) {
                    e.setSize(bytes.length);
                }
                tar.putArchiveEntry(e);
                tar.write(bytes);
                tar.closeArchiveEntry();
            }
        }
        return file;
    }

    private static TarArchiveEntry link(String name, byte type, String target) {
        TarArchiveEntry e = new TarArchiveEntry(name, type);
        e.setLinkName(target);
        return e;
    }

    /**
     * A link already in the destination (a guest user's, not the archive's) is not extracted
     * through: an entry below it is refused, the rest extracted. Before, tar -x's way, the upload
     * (as root) wrote where the link points, /srv/www/etc -> /etc included.
     */
    @Test
    void aTarIsNotExtractedThroughALinkAlreadyInTheDestination() throws Exception {
        Path d = fresh("planted");
        Path outside = Files.createDirectory(d.resolve("outside"));
        Path into = Files.createDirectory(d.resolve("into"));
        Files.createSymbolicLink(into.resolve("etc"), outside);
        Path archive = tarOf(d.resolve("planted.tar"), List.of(
                new TarArchiveEntry("etc/passwd"),
                new TarArchiveEntry("etc/", TarConstants.LF_DIR),
                new TarArchiveEntry("ok")),
                Map.of("etc/passwd", "pwned\n".getBytes(), "ok", "ok\n".getBytes()));
        Result r = run(archive, "-", guest(into));
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.stderr().contains("':" + into.resolve("etc") + "' is a symbolic link, not a directory"), r.stderr());
        assertTrue(r.stderr().contains("cannot overwrite non-directory"), r.stderr());
        try (Stream<Path> s = Files.list(outside)) {
            assertEquals(0, s.count(), "nothing written through the link");
        }
        assertEquals("ok\n", Files.readString(into.resolve("ok")), "the other members are extracted");
    }

    /**
     * A hard link's target reached through a link already in the destination (a guest user's
     * r -> a secrets directory) is refused, the rest extracted. Before, only the archive's own links
     * were refused, and the agent's Copy, resolving the path, copied the secret in.
     */
    @Test
    void aTarsHardLinkIsNotCopiedThroughALinkAlreadyInTheDestination() throws Exception {
        Path d = fresh("planted-hard");
        Path secrets = Files.createDirectory(d.resolve("secrets"));
        Files.writeString(secrets.resolve("notes.txt"), "secret\n");
        Path into = Files.createDirectory(d.resolve("into"));
        Files.createSymbolicLink(into.resolve("r"), secrets);
        Path archive = tarOf(d.resolve("planted-hard.tar"), List.of(
                link("leak", TarConstants.LF_LINK, "r/notes.txt"),
                new TarArchiveEntry("ok")),
                Map.of("ok", "ok\n".getBytes()));
        Result r = run(archive, "-", guest(into));
        assertEquals(1, r.code(), r.toString());
        assertEquals("agentctl cp: refusing hard link 'leak' to 'r/notes.txt': '" + guest(into.resolve("r"))
                + "' is a symbolic link (not followed)\n", r.stderr());
        assertFalse(Files.exists(into.resolve("leak"), NOFOLLOW), "nothing copied in through the link");
        assertEquals("ok\n", Files.readString(into.resolve("ok")), "the other members are extracted");
    }

    /**
     * A tar stream cut short after a directory's contents began: the extraction stops (exit 1), and
     * the directory made so far still gets its mode. Before, the failure skipped the loop that sets
     * directories' attributes, and it stayed 0755 (made open for its contents).
     */
    @Test
    void aDirectoryExtractedBeforeTheStreamBreaksStillGetsItsMode() throws Exception {
        Path d = fresh("cut");
        TarArchiveEntry dir = new TarArchiveEntry("d/", TarConstants.LF_DIR);
        dir.setMode(040500);
        byte[] big = new byte[64 * 1024];
        Path archive = tarOf(d.resolve("cut.tar"), List.of(dir, new TarArchiveEntry("d/f")), Map.of("d/f", big));
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(archive,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(512 * 3 + 1000); // the directory's header, the file's header, part of its data
        }
        Path into = Files.createDirectory(d.resolve("into"));
        Result r = run(archive, "-", guest(into));
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.stderr().contains("reading the tar stream on stdin"), r.stderr());
        assertEquals(0500, (Integer) Files.getAttribute(into.resolve("d"), "unix:mode") & 07777, r.stderr());
    }

    @Test
    void aTarCannotReachOutsideThroughALinkItCreated() throws Exception {
        Path d = fresh("slip");
        Path outside = Files.createDirectory(d.resolve("outside"));
        Path secrets = Files.createDirectory(d.resolve("secrets"));
        Files.writeString(secrets.resolve("shadow"), "secret\n");
        Path archive = tarOf(d.resolve("slip.tar"), List.of(
                link("esc", TarConstants.LF_SYMLINK, outside.toString()),
                new TarArchiveEntry("esc/pwned.txt"),
                link("etc", TarConstants.LF_SYMLINK, secrets.toString()),
                link("shadowcopy", TarConstants.LF_LINK, "etc/shadow"),
                new TarArchiveEntry("esc/", TarConstants.LF_DIR), // its mode and time would go to outside
                link("esc", TarConstants.LF_SYMLINK, "ok"), // a link replaces a link
                new TarArchiveEntry("ok")),
                Map.of("esc/pwned.txt", "pwned\n".getBytes(), "ok", "ok\n".getBytes()));
        Path into = Files.createDirectory(d.resolve("into"));
        Result r = run(archive, "-", guest(into));
        assertEquals(1, r.code(), r.toString());
        assertEquals("agentctl cp: refusing tar entry 'esc/pwned.txt': it goes through the symbolic link 'esc' this"
                + " archive created\n"
                + "agentctl cp: refusing hard link 'shadowcopy' to 'etc/shadow': it goes through the symbolic link"
                + " 'etc' this archive created\n"
                + "agentctl cp: refusing tar entry 'esc/': it goes through the symbolic link 'esc' this archive"
                + " created\n", r.stderr());
        try (Stream<Path> s = Files.list(outside)) {
            assertEquals(0, s.count(), "nothing written outside the destination");
        }
        assertFalse(Files.exists(into.resolve("shadowcopy"), NOFOLLOW), "nothing copied in from outside");
        assertEquals(secrets, Files.readSymbolicLink(into.resolve("etc")), "the links themselves are made");
        assertEquals(Path.of("ok"), Files.readSymbolicLink(into.resolve("esc")), "and replaced by links");
        assertEquals("ok\n", Files.readString(into.resolve("ok")), "the other members are extracted");
    }

    /**
     * A fifo, two devices and an entry of a type tar does not define (with bytes of its own) are each
     * refused with a line, and the files around them extracted. Before, commons' isFile() (true for
     * any entry but a directory) made each an empty regular file, silently, and the copy exited 0.
     */
    @Test
    void aTarsFifosDevicesAndUnknownTypesAreRefusedEachWithALine() throws Exception {
        Path d = fresh("special");
        TarArchiveEntry unknown = new TarArchiveEntry("unknown", (byte) 'Z');
        Path archive = tarOf(d.resolve("special.tar"), List.of(new TarArchiveEntry("before"),
                new TarArchiveEntry("fifo", TarConstants.LF_FIFO),
                new TarArchiveEntry("sub/nul", TarConstants.LF_CHR),
                new TarArchiveEntry("sda", TarConstants.LF_BLK),
                unknown,
                new TarArchiveEntry("after")),
                Map.of("before", "b\n".getBytes(), "unknown", "12345".getBytes(), "after", "a\n".getBytes()));
        Path into = Files.createDirectory(d.resolve("into"));
        Result r = run(archive, "-", guest(into));
        assertEquals(1, r.code(), r.toString());
        String why = " in the tar stream (only files, directories and links are copied)\n";
        assertEquals("agentctl cp: cannot create '" + guest(into.resolve("fifo")) + "': a fifo" + why
                + "agentctl cp: cannot create '" + guest(into.resolve("sub/nul")) + "': a character device" + why
                + "agentctl cp: cannot create '" + guest(into.resolve("sda")) + "': a block device" + why
                + "agentctl cp: cannot create '" + guest(into.resolve("unknown")) + "': an entry of unknown type 'Z'"
                + why, r.stderr());
        try (Stream<Path> s = Files.list(into)) {
            assertEquals(List.of("after", "before"), s.map(p -> p.getFileName().toString()).sorted().toList(),
                    "nothing made for the refused ones (nor sub/ for sub/nul)");
        }
        assertEquals("b\n", Files.readString(into.resolve("before")));
        assertEquals("a\n", Files.readString(into.resolve("after")), "the unknown entry's bytes were skipped");
    }

    @Test
    void aTarMemberNameThatIsNotUtf8IsRefused() throws Exception {
        Path d = fresh("nonutf8");
        // "n\xe9" and "n\xe8" as bytes: once both became "n?", one overwriting the other
        Path archive = tarOf(d.resolve("names.tar"), List.of(new TarArchiveEntry("n\u00e9"),
                new TarArchiveEntry("n\u00e8"), new TarArchiveEntry(new String("\u00e9t\u00e9".getBytes(
                        java.nio.charset.StandardCharsets.UTF_8), java.nio.charset.StandardCharsets.ISO_8859_1))),
                Map.of("n\u00e9", "one".getBytes(), "n\u00e8", "two".getBytes()));
        Path into = Files.createDirectory(d.resolve("into"));
        Result r = run(archive, "-", guest(into));
        assertEquals(1, r.code(), r.toString());
        assertEquals("agentctl cp: refusing tar entry 'n\\xe9': its name is not valid UTF-8\n"
                + "agentctl cp: refusing tar entry 'n\\xe8': its name is not valid UTF-8\n", r.stderr());
        try (Stream<Path> s = Files.list(into)) {
            assertEquals(List.of(into.resolve("\u00e9t\u00e9")), s.toList(), "a UTF-8 name is extracted");
        }
    }

    @Test
    void inputThatIsNotATarOrHasAnOversizedHeaderIsRefused() throws Exception {
        Path d = fresh("nottar");
        Path into = Files.createDirectory(d.resolve("into"));
        Path hello = d.resolve("hello");
        Files.writeString(hello, "hello\n");
        Result r = run(hello, "-", guest(into));
        assertEquals(1, r.code(), r.toString());
        assertEquals("agentctl cp: reading the tar stream on stdin: This does not look like a tar archive\n",
                r.stderr());

        // a GNU long name claiming 64 MiB (once buffered whole: gigabytes were an OutOfMemoryError)
        TarArchiveEntry longName = new TarArchiveEntry("././@LongLink", TarConstants.LF_GNUTYPE_LONGNAME);
        longName.setSize(64 << 20);
        byte[] header = new byte[512];
        longName.writeEntryHeader(header);
        Path huge = d.resolve("huge");
        try (var out = Files.newOutputStream(huge)) {
            out.write(header);
            out.write(new byte[1 << 20]); // less than it claims: refused before it is read
        }
        Result big = run(huge, "-", guest(into));
        assertEquals(1, big.code(), big.toString());
        assertEquals("agentctl cp: reading the tar stream on stdin: a GNU long name of 67108864 bytes: refused"
                + " (at most 4096 are read)\n", big.stderr());

        Result empty = run(null, "-", guest(into));
        assertEquals(0, empty.code(), "an empty stdin is an empty archive: " + empty);
        try (Stream<Path> s = Files.list(into)) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void aGuestFileThatGrowsWhileItIsArchivedIsReported() throws Exception {
        // /proc/self/status says its size is 0 and holds more: as a file that grew during the copy
        Result r = cp(":/proc/self/status", "-");
        assertEquals(1, r.code(), r.toString());
        assertEquals("agentctl cp: error reading 'status': file changed as we read it (the archive holds its first"
                + " 0 bytes)\n", r.stderr());
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new java.io.ByteArrayInputStream(r.stdout()))) {
            TarArchiveEntry e = tar.getNextEntry();
            assertEquals("status", e.getName());
            assertEquals(0, e.getSize(), "the size announced");
            assertEquals(null, tar.getNextEntry(), "a well-formed archive");
        }
    }

    @Test
    void aTarToStdoutThatCannotBeWrittenFailsWithOneLine() throws Exception {
        assumeTrue(Files.isWritable(Path.of("/dev/full")), "no /dev/full here");
        Path d = fresh("full");
        Files.write(d.resolve("big"), random(4 * 1024 * 1024, 12));
        Files.writeString(d.resolve("small"), "s");
        Path err = d.resolve("err");
        Process p = new ProcessBuilder(AGENTCTL.toString(), "--socket", socket.toString(), "cp", guest(d), "-")
                .redirectInput(new File("/dev/null"))
                .redirectOutput(new File("/dev/full"))
                .redirectError(err.toFile())
                .start();
        assertTrue(p.waitFor(90, TimeUnit.SECONDS));
        assertEquals("agentctl cp: error writing to standard output: No space left on device\n",
                Files.readString(err), "one line, not one per file");
        assertEquals(1, p.exitValue());
    }

    /**
     * `cp :DIR - | head -c 512`: the reader leaves after the first header. agentctl printed "agentctl
     * cp: error writing to standard output: Broken pipe" and exited 1; a reader that left is no error
     * for the other commands, and exec gives 141 (its command's death by SIGPIPE): so does cp, quietly.
     */
    @Test
    void aTarWhoseReaderLeftEndsQuietlyWith141() throws Exception {
        Path d = fresh("reader-left");
        Files.write(d.resolve("big"), random(4 * 1024 * 1024, 13)); // more than a pipe holds
        Path err = d.resolve("err");
        Process p = new ProcessBuilder(AGENTCTL.toString(), "--socket", socket.toString(), "cp", guest(d), "-")
                .redirectInput(new File("/dev/null"))
                .redirectError(err.toFile())
                .start();
        try {
            InputStream tar = p.getInputStream();
            assertEquals(512, tar.readNBytes(512).length, "the first header");
            tar.close();
            assertTrue(p.waitFor(90, TimeUnit.SECONDS));
            assertEquals("", Files.readString(err));
            assertEquals(141, p.exitValue());
        } finally {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void anUnknownUserIsNamedInTheMessage() throws Exception {
        Path d = fresh("nouser");
        Files.writeString(d.resolve("f"), "f");
        Result r = cp("-u", "nosuchuser", d.resolve("f").toString(), guest(d) + "/");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.stderr().startsWith("agentctl cp: cannot access '" + guest(d) + "/': user \"nosuchuser\": no such"
                + " user or group"), r.stderr());
    }

    @Test
    void aNameThatIsNotUtf8IsSaidToBeOneBothWays() throws Exception {
        Path d = fresh("badname");
        Path src = Files.createDirectory(d.resolve("src"));
        Files.writeString(src.resolve("good"), "good");
        // Java cannot name the byte 0xff on a UTF-8 system: the shell makes the file
        Process touch = new ProcessBuilder("sh", "-c", "touch \"$(printf 'bad\\377')\"").directory(src.toFile()).start();
        assertEquals(0, touch.waitFor());
        Path up = Files.createDirectory(d.resolve("up"));
        Result r = cp(src.toString(), guest(up));
        assertEquals(1, r.code(), r.toString());
        assertEquals("agentctl cp: cannot copy '" + src.resolve("bad\uFFFD") + "': its name is not valid UTF-8"
                + " (agentctl cp copies only UTF-8 names)\n", r.stderr());
        assertEquals("good", Files.readString(up.resolve("src/good")));

        Path down = Files.createDirectory(d.resolve("down"));
        Result back = cp(guest(src), down.toString());
        assertEquals(1, back.code(), back.toString());
        assertEquals("agentctl cp: cannot copy '" + guest(src.resolve("bad\uFFFD")) + "': its name is not valid UTF-8"
                + " (agentctl cp copies only UTF-8 names)\n", back.stderr());
        assertEquals("good", Files.readString(down.resolve("src/good")));
    }

    /**
     * A name that is not UTF-8 beside the valid name it comes out as (bad\377 and bad\uFFFD): the
     * listing names both the same, and the copy took the valid one and left the other out with exit
     * status 0. Now it says so and fails.
     */
    @Test
    void aNameThatIsNotUtf8ListedAsAnotherEntrysNameIsReportedNotLeftOutUnsaid() throws Exception {
        Path d = fresh("collision");
        Path src = Files.createDirectory(d.resolve("src"));
        Files.writeString(src.resolve("bad\uFFFD"), "valid name");
        Process touch = new ProcessBuilder("sh", "-c", "printf x > \"$(printf 'bad\\377')\"").directory(src.toFile()).start();
        assertEquals(0, touch.waitFor());
        Path down = Files.createDirectory(d.resolve("down"));
        Result back = cp(guest(src), down.toString());
        assertEquals(1, back.code(), back.toString());
        assertEquals("agentctl cp: cannot copy an entry of '" + guest(src) + "': two entries are listed as 'bad\uFFFD',"
                + " so one of their names is not valid UTF-8 (agentctl cp copies only UTF-8 names)\n", back.stderr());
        assertEquals("valid name", Files.readString(down.resolve("src/bad\uFFFD")));
    }

    @Test
    void aMissingSourceIsReportedAndTheOthersAreStillCopied() throws Exception {
        Path d = fresh("missing");
        Files.writeString(d.resolve("here"), "here");
        Path into = Files.createDirectory(d.resolve("into"));
        Result r = cp(guest(d.resolve("nope")), guest(d.resolve("here")), into.toString());
        assertEquals(1, r.code(), r.toString());
        assertEquals("agentctl cp: cannot stat '" + guest(d.resolve("nope")) + "': No such file or directory\n",
                r.stderr());
        assertEquals("here", Files.readString(into.resolve("here")));

        Result up = cp(d.resolve("nope").toString(), guest(into));
        assertEquals(1, up.code());
        assertEquals("agentctl cp: cannot stat '" + d.resolve("nope") + "': No such file or directory\n", up.stderr());

        Result notDir = cp(d.resolve("here").toString(), d.resolve("here").toString(), guest(d.resolve("here")));
        assertEquals(1, notDir.code());
        assertTrue(notDir.stderr().contains("is not a directory"), notDir.stderr());

        Result usage = cp(d.resolve("here").toString(), d.resolve("there").toString());
        assertEquals(2, usage.code(), "host to host is a usage error");
    }

    /**
     * A destination written with a trailing slash names a directory: a file of that name is not
     * replaced, either way, as cp(1) and docker cp refuse it. Before, a download renamed the guest
     * file over the host file (a Path drops the slash) and exited 0.
     */
    @Test
    void aFileWhereADestinationWithATrailingSlashIsIsNotReplaced() throws Exception {
        Path d = fresh("slash");
        Files.writeString(d.resolve("src"), "new");
        Files.writeString(d.resolve("f"), "old");
        Result down = cp(guest(d.resolve("src")), d.resolve("f") + "/");
        assertEquals(1, down.code(), down.toString());
        assertTrue(down.stderr().contains("Not a directory"), down.stderr());
        assertEquals("old", Files.readString(d.resolve("f")), "the host file is kept");
        Result up = cp(d.resolve("src").toString(), guest(d.resolve("f")) + "/");
        assertEquals(1, up.code(), up.toString());
        assertTrue(up.stderr().contains("Not a directory"), up.stderr());
        assertEquals("old", Files.readString(d.resolve("f")), "the guest file is kept");
    }

    /**
     * A destination that is a link to a file, or a dangling one, is replaced by the file (the
     * temporary file's rename), both ways, as docs/AGENTCTL.md says (agentctl cp, "Replacing
     * files"): its target is neither written nor created.
     */
    @Test
    void aDestinationThatIsALinkToAFileOrDanglingIsReplacedNotWrittenThroughBothWays() throws Exception {
        Path d = fresh("links");
        Files.writeString(d.resolve("src"), "new");
        Files.writeString(d.resolve("target"), "old");
        for (String way : List.of("up", "down")) {
            Path toFile = Files.createSymbolicLink(d.resolve(way + "-to-file"), Path.of("target"));
            Path dangling = Files.createSymbolicLink(d.resolve(way + "-dangling"), Path.of(way + "-missing"));
            for (Path link : List.of(toFile, dangling)) {
                Result r = way.equals("up") ? cp(d.resolve("src").toString(), guest(link))
                        : cp(guest(d.resolve("src")), link.toString());
                assertEquals(0, r.code(), way + " " + link + ": " + r);
                assertFalse(Files.isSymbolicLink(link), way + ": the link is replaced");
                assertEquals("new", Files.readString(link));
            }
            assertEquals("old", Files.readString(d.resolve("target")), way + ": the link's target is not written");
            assertFalse(Files.exists(d.resolve(way + "-missing"), LinkOption.NOFOLLOW_LINKS),
                    way + ": a dangling link's target is not created");
        }
    }

    /**
     * A directory copied to a destination with a trailing slash that does not exist yet, its parent
     * existing, is created there with the directory's contents, as {@code cp -r dir new/} does; both
     * ways. Before, agentctl refused it ("cannot create directory 'new/': No such file or
     * directory", exit 1). What cp(1) refuses stays refused: a file to a "new/" that does not exist
     * (Not a directory), a "new/" whose parent does not exist (No such file or directory), and an
     * existing directory still gets the source under its own name.
     */
    @Test
    void aDirectoryToAMissingDestinationWithATrailingSlashCreatesItBothWays() throws Exception {
        Path d = fresh("newdir");
        Path t = tree(d);
        Result up = cp(t.toString(), guest(d.resolve("up")) + "/");
        assertEquals(0, up.code(), up.toString());
        assertSameTree(t, d.resolve("up"), false);
        Result down = cp(guest(t), d.resolve("down") + "//");
        assertEquals(0, down.code(), down.toString());
        assertSameTree(t, d.resolve("down"), false);

        Result into = cp(t.toString(), guest(d.resolve("up")) + "/");
        assertEquals(0, into.code(), into.toString());
        assertSameTree(t, d.resolve("up/tree"), false);

        Result noParent = cp(t.toString(), guest(d.resolve("none/new")) + "/");
        assertEquals(1, noParent.code(), noParent.toString());
        assertEquals("agentctl cp: cannot create directory '" + guest(d.resolve("none/new"))
                + "/': No such file or directory\n", noParent.stderr());
        Result noParentDown = cp(guest(t), d.resolve("none/new") + "/");
        assertEquals(1, noParentDown.code(), noParentDown.toString());
        assertTrue(noParentDown.stderr().contains("No such file or directory"), noParentDown.stderr());
        assertFalse(Files.exists(d.resolve("none")));

        Result file = cp(t.resolve("data").toString(), guest(d.resolve("f")) + "/");
        assertEquals(1, file.code(), file.toString());
        assertEquals("agentctl cp: cannot create regular file '" + guest(d.resolve("f")) + "/': Not a directory\n",
                file.stderr());
        Result fileDown = cp(guest(t.resolve("data")), d.resolve("f") + "/");
        assertEquals(1, fileDown.code(), fileDown.toString());
        assertTrue(fileDown.stderr().contains("Not a directory"), fileDown.stderr());
        assertFalse(Files.exists(d.resolve("f")));
    }

    /**
     * A source written with a trailing slash names a directory, as the kernel resolves it and cp(1)
     * copies it: "link/" is the directory the link points to, copied as one under the link's name,
     * and "file/" is "Not a directory". The host side dropped the slash (java.nio's Path does): the
     * link was copied as a link, and the file as the file, exit 0; the guest side copied the link.
     */
    @Test
    void aSourceWithATrailingSlashIsTheDirectoryItNamesBothWays() throws Exception {
        Path d = fresh("srcslash");
        Path t = tree(d);
        Path link = Files.createSymbolicLink(d.resolve("link"), t.getFileName());
        Files.createDirectory(d.resolve("up"));
        Files.createDirectory(d.resolve("down"));
        Result up = cp(link + "/", guest(d.resolve("up")));
        assertEquals(0, up.code(), up.toString());
        assertFalse(Files.isSymbolicLink(d.resolve("up/link")), "the directory, not the link");
        assertSameTree(t, d.resolve("up/link"), false);
        Result down = cp(guest(link) + "/", d.resolve("down").toString());
        assertEquals(0, down.code(), down.toString());
        assertFalse(Files.isSymbolicLink(d.resolve("down/link")), "the directory, not the link");
        assertSameTree(t, d.resolve("down/link"), false);

        Result file = cp(t.resolve("data") + "/", guest(d.resolve("up")));
        assertEquals(1, file.code(), file.toString());
        assertEquals("agentctl cp: cannot stat '" + t.resolve("data") + "/': Not a directory\n", file.stderr());
        assertFalse(Files.exists(d.resolve("up/data")));
        Result fileDown = cp(guest(t.resolve("data")) + "/", d.resolve("down").toString());
        assertEquals(1, fileDown.code(), fileDown.toString());
        assertEquals("agentctl cp: cannot stat '" + guest(t.resolve("data")) + "/': Not a directory\n",
                fileDown.stderr());
        assertFalse(Files.exists(d.resolve("down/data")));
    }

    @Test
    void asNobodyTheGuestsPermissionsApply() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root: -u nobody");
        Path d = fresh("nobody");
        Files.writeString(d.resolve("f"), "f");
        Path locked = Files.createDirectory(d.resolve("locked")); // root's, 0755: nobody cannot write in it
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwxr-xr-x"));
        Result denied = cp("-u", "nobody", d.resolve("f").toString(), guest(locked.resolve("f")));
        assertEquals(1, denied.code(), denied.toString());
        assertEquals("agentctl cp: cannot create regular file '" + guest(locked.resolve("f"))
                + "': Permission denied\n", denied.stderr());
        assertFalse(Files.exists(locked.resolve("f")));

        Path secret = d.resolve("secret");
        Files.writeString(secret, "s");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Result unreadable = cp("-u", "nobody", guest(secret), d.resolve("copy").toString());
        assertEquals(1, unreadable.code(), unreadable.toString());
        assertEquals("agentctl cp: cannot open '" + guest(secret) + "' for reading: Permission denied\n",
                unreadable.stderr());

        Path open = Files.createDirectory(d.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        Result ok = cp("-u", "nobody", d.resolve("f").toString(), guest(open.resolve("f")));
        assertEquals(0, ok.code(), ok.toString());
        assertEquals("nobody", Files.getOwner(open.resolve("f"), NOFOLLOW).getName(), "written as nobody");

        // a read-only directory is still filled, then gets its mode (cp(1) does the same)
        Path ro = Files.createDirectories(d.resolve("ro/inside"));
        Files.writeString(ro.resolve("f"), "f");
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        for (String flag : List.of("-a", "--")) {
            Path into = Files.createDirectory(open.resolve("into" + flag));
            Files.setPosixFilePermissions(into, PosixFilePermissions.fromString("rwxrwxrwx"));
            Result tree = cp("-u", "nobody", flag, d.resolve("ro").toString(), guest(into));
            assertEquals(0, tree.code(), flag + ": " + tree);
            assertEquals("f", Files.readString(into.resolve("ro/inside/f")));
            assertEquals("r-xr-xr-x", PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(into.resolve("ro/inside"))), flag);
        }
    }

    /** A guest file that is read-only (r--r--r--) is downloaded by a host user who is not root. */
    @Test
    void aReadOnlyGuestFileIsDownloadedByANonRootUser() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root: runs agentctl as uid 65534");
        Path d = fresh("ro-download");
        Path src = d.resolve("ro");
        Files.writeString(src, "read-only");
        Files.setPosixFilePermissions(src, PosixFilePermissions.fromString("r--r--r--"));
        Path into = Files.createDirectory(d.resolve("into"));
        Files.setPosixFilePermissions(into, PosixFilePermissions.fromString("rwxrwxrwx"));
        Result r = cpAsNobody(d, guest(src), into.resolve("ro").toString());
        assertEquals(0, r.code(), r.stderr());
        assertEquals("read-only", Files.readString(into.resolve("ro")));
        assertEquals("r--r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(into.resolve("ro"))));
        assertEquals(65534, (int) Files.getAttribute(into.resolve("ro"), "unix:uid"));
    }

    /**
     * agentctl cp ARGS run as uid 65534 against an agent of its own in {@code d} that lets that uid
     * in (the shared agent's socket is root's).
     */
    private static Result cpAsNobody(Path d, String... args) throws Exception {
        Path sock = d.resolve("open.sock");
        try (RunningAgent open = RunningAgent.listening(ROOT.resolve("scripts/agentd"), sock,
                List.of("--socket-mode", "0666", "--allow-uid", "65534"), Map.of(), d.resolve("open.log"))) {
            open.awaitSocket();
            List<String> command = new ArrayList<>(List.of("setpriv", "--reuid", "65534", "--regid", "65534",
                    "--clear-groups", AGENTCTL.toString(), "--socket", sock.toString(), "cp"));
            command.addAll(List.of(args));
            Path err = d.resolve("err");
            Process p = new ProcessBuilder(command)
                    .redirectInput(new File("/dev/null"))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(err.toFile())
                    .start();
            assertTrue(p.waitFor(90, TimeUnit.SECONDS), "agentctl cp as uid 65534 did not finish");
            return new Result(p.exitValue(), new byte[0], Files.readString(err));
        }
    }

    /**
     * -a by a host user who is not root, of a file and a directory their owner cannot read (0200,
     * 0300): the JDK sets times through an O_RDONLY open, refused then, so the download reported
     * "preserving times ...: Permission denied" (exit 1). Times are now set before the mode.
     */
    @Test
    void aNonRootUserKeepsTheTimesOfFilesItCannotRead() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root: runs agentctl as uid 65534");
        Path d = fresh("unreadable-download");
        Path src = Files.createDirectory(d.resolve("src"));
        Path w = Files.writeString(src.resolve("w"), "write-only");
        Files.setPosixFilePermissions(w, PosixFilePermissions.fromString("-w-------"));
        Files.setLastModifiedTime(w, FileTime.fromMillis(1_000_000_000_000L));
        Files.setPosixFilePermissions(src, PosixFilePermissions.fromString("-wx------"));
        Files.setLastModifiedTime(src, FileTime.fromMillis(1_100_000_000_000L));
        Path into = Files.createDirectory(d.resolve("into"));
        Files.setPosixFilePermissions(into, PosixFilePermissions.fromString("rwxrwxrwx"));
        Result r = cpAsNobody(d, "-a", guest(src), into.toString());
        assertEquals(0, r.code(), r.stderr());
        Path copy = into.resolve("src");
        assertEquals("-wx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(copy)));
        assertEquals(1_100_000_000_000L, Files.getLastModifiedTime(copy).toMillis());
        assertEquals("-w-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(copy.resolve("w"))));
        assertEquals(1_000_000_000_000L, Files.getLastModifiedTime(copy.resolve("w")).toMillis());
        assertEquals(65534, (int) Files.getAttribute(copy.resolve("w"), "unix:uid"));
    }

    @Test
    void noSpaceLeftIsReportedWithThePathAndLeavesNoPartialFile() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root: mounts a 1 MiB tmpfs");
        Path d = fresh("nospace");
        Path small = Files.createDirectory(d.resolve("small"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assumeTrue(mount.waitFor(10, TimeUnit.SECONDS) && mount.exitValue() == 0, "tmpfs cannot be mounted here");
        try {
            Files.write(d.resolve("big"), random(3 * 1024 * 1024, 10));
            Files.writeString(d.resolve("small-one"), "fits");
            Result r = cp(d.resolve("big").toString(), d.resolve("small-one").toString(), guest(small));
            assertEquals(1, r.code(), r.toString());
            assertEquals("agentctl cp: error writing '" + guest(small.resolve("big")) + "': No space left on device\n",
                    r.stderr());
            assertEquals("fits", Files.readString(small.resolve("small-one")), "the rest is still copied");
            try (Stream<Path> s = Files.list(small)) {
                assertEquals(List.of(small.resolve("small-one")), s.toList(), "no partial or temporary file");
            }
        } finally {
            new ProcessBuilder("umount", small.toString()).start().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void anUploadCutShortLeavesNoFileBehind() throws Exception {
        Path d = fresh("cut");
        Path target = d.resolve("target");
        try (AgentClient client = agentd.connect(s -> AgentClient.connect(s, Duration.ofSeconds(10)))) {
            // abandoned by the caller
            GuestOutputStream out = client.files().openWrite(target.toString(), WriteOptions.DEFAULT);
            out.write(random(1_000_000, 4));
            assertEquals(1, countTemporaries(d), "the bytes go to a temporary file beside the target");
            out.abort();
            assertFalse(Files.exists(target, NOFOLLOW));
            assertEquals(0, countTemporaries(d));

            // an existing file stays as it was
            Files.writeString(target, "old");
            GuestOutputStream again = client.files().openWrite(target.toString(), WriteOptions.DEFAULT);
            again.write(random(1000, 5));
            again.abort();
            assertEquals("old", Files.readString(target));
            Files.delete(target);

            // the connection lost mid-write
            GuestOutputStream lost = client.files().openWrite(target.toString(), WriteOptions.DEFAULT);
            lost.write(random(1_000_000, 6));
            client.close();
            try {
                lost.write(new byte[10]);
                lost.close();
                throw new AssertionError("wrote on a closed connection");
            } catch (ConnectionLostException expected) {
                // the agent drops the handle with its temporary file
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (countTemporaries(d) > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, countTemporaries(d));
        assertFalse(Files.exists(target, NOFOLLOW));
    }

    @Test
    void agentctlKilledMidUploadLeavesNoFileBehind() throws Exception {
        Path d = fresh("killed");
        Path big = d.resolve("big");
        Files.write(big, random(64 * 1024 * 1024, 7));
        Path into = Files.createDirectory(d.resolve("into"));
        Process p = new ProcessBuilder(AGENTCTL.toString(), "--socket", socket.toString(), "cp", big.toString(),
                guest(into.resolve("big")))
                .redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (countTemporaries(into) == 0 && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assumeTrue(p.isAlive(), "the upload finished before it could be cut short (a very fast machine)");
        p.destroyForcibly(); // SIGKILL: the agent sees the connection end
        p.waitFor(10, TimeUnit.SECONDS);
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (countTemporaries(into) > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, countTemporaries(into), "the temporary file is removed");
        assertFalse(Files.exists(into.resolve("big")), "nothing in place of a partial upload");
    }

    @Test
    void agentctlStoppedMidDownloadLeavesNoFileBehind() throws Exception {
        Path d = fresh("stopped");
        Path big = d.resolve("big");
        Files.write(big, random(64 * 1024 * 1024, 11));
        Path into = Files.createDirectory(d.resolve("into"));
        Process p = new ProcessBuilder(AGENTCTL.toString(), "--socket", socket.toString(), "cp", guest(big),
                into.toString())
                .redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (countTemporaries(into, ".agentctl-") == 0 && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assumeTrue(p.isAlive(), "the download finished before it could be stopped (a very fast machine)");
        p.destroy(); // SIGTERM, as ^C's SIGINT: the JVM exits through its shutdown hooks
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertEquals(0, countTemporaries(into, ".agentctl-"), "the temporary file is removed");
        assertFalse(Files.exists(into.resolve("big")), "nothing in place of a partial download");
    }

    private static long countTemporaries(Path d) throws Exception {
        return countTemporaries(d, ".agentd-");
    }

    private static long countTemporaries(Path d, String marker) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.filter(p -> p.getFileName().toString().contains(marker)).count();
        }
    }

    @Test
    void theAgentGoneMidCopyExits125() throws Exception {
        Path d = fresh("gone");
        Path sock = d.resolve("other.sock");
        Path big = d.resolve("big");
        Files.write(big, random(64 * 1024 * 1024, 8));
        try (RunningAgent other = RunningAgent.listening(ROOT.resolve("scripts/agentd"), sock, List.of(), Map.of(),
                d.resolve("other.log"))) {
            other.awaitSocket();
            Path into = Files.createDirectory(d.resolve("into"));
            Path err = d.resolve("err");
            Process p = new ProcessBuilder(AGENTCTL.toString(), "--socket", sock.toString(), "cp", big.toString(),
                    guest(into.resolve("big")))
                    .redirectInput(new File("/dev/null"))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(err.toFile())
                    .start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (countTemporaries(into) == 0 && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assumeTrue(p.isAlive(), "the upload finished before the agent could be stopped (a very fast machine)");
            other.process().destroyForcibly();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(125, p.exitValue(), Files.readString(err));
            assertTrue(Files.readString(err).startsWith("agentctl: cp: "), Files.readString(err));
        }
    }

    /** Reads a guest file through the API as a stream (the library, not agentctl). */
    @Test
    void theApiReadsWhatTheGuestHolds() throws Exception {
        Path d = fresh("api");
        byte[] content = random(9 * 1024 * 1024 + 1, 9);
        Files.write(d.resolve("f"), content);
        try (AgentClient client = agentd.connect(s -> AgentClient.connect(s, Duration.ofSeconds(10)));
             InputStream in = client.files().openRead(d.resolve("f").toString())) {
            assertTrue(client.files().extensions());
            assertArrayEquals(content, in.readAllBytes());
        }
    }

    /**
     * cp x/f y/f :DIR: two sources of one name. GNU cp refuses the second ("will not overwrite
     * just-created") and exits 1, the first kept; before, agentctl exited 0 with y's f there.
     */
    @Test
    void aSecondSourceOfTheSameNameIsRefusedAndTheFirstKept() throws Exception {
        Path d = fresh("same-name");
        Path x = Files.createDirectory(d.resolve("x"));
        Path y = Files.createDirectory(d.resolve("y"));
        Files.writeString(x.resolve("f"), "x\n");
        Files.writeString(y.resolve("f"), "y\n");
        Path into = Files.createDirectory(d.resolve("d"));
        Result up = cp(x.resolve("f").toString(), y.resolve("f").toString(), guest(into));
        assertEquals(1, up.code(), up.toString());
        assertEquals("agentctl cp: will not overwrite just-created ':" + into.resolve("f") + "' with '" + y.resolve("f")
                + "'\n", up.stderr());
        assertEquals("x\n", Files.readString(into.resolve("f")));
    }
}
