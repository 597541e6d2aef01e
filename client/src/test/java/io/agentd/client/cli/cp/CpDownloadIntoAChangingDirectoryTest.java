package io.agentd.client.cli.cp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.fs.AnsweringTransport;
import io.agentd.client.fs.GuestFiles;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * agentctl cp :/d DST (a download of a guest tree) while the destination changes under it: a
 * directory it made is swapped for a link to another host directory, as the guest could do through
 * a shared folder (virtiofs, 9p) or another user who can write DST. The scripted agent makes the
 * swap when it is asked for what goes into that directory; nothing may land where the link points.
 * And downloads nobody disturbs still write what they did.
 */
@Timeout(30)
class CpDownloadIntoAChangingDirectoryTest {
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

    /** A guest file, directory or link: its kind, permission bits, bytes (a file's; a link's target) and times. */
    private record Node(String kind, long mode, String content, long time) {}

    private static Node dir(long mode) {
        return new Node(FsEntryInfo.DIR, mode, "", 1_500_000_000L);
    }

    private static Node file(long mode, String content) {
        return new Node(FsEntryInfo.FILE, mode, content, 1_500_000_000L);
    }

    /** A guest holding {@code tree}; {@code beforeAnswer} sees each request before it is answered. */
    private static GuestFiles guest(Map<String, Node> tree, Consumer<FsOp> beforeAnswer) {
        AtomicLong handles = new AtomicLong(100);
        Map<Long, String> open = new HashMap<>();
        return GuestFiles.over(new AnsweringTransport((op, l) -> {
            beforeAnswer.accept(op);
            if (op instanceof FsOp.Stat s) {
                Node n = tree.get(s.path());
                l.onResponse(n == null
                        ? new FsResponse(false, s.path() + ": No such file or directory (os error 2)", null, 2, "ENOENT",
                                null)
                        : FsResponse.success(new FsResponseData.Stat(info(s.path(), n))));
            } else if (op instanceof FsOp.ListDir d) {
                String prefix = d.path() + "/";
                List<FsEntryInfo> entries = tree.entrySet().stream()
                        .filter(e -> e.getKey().startsWith(prefix) && e.getKey().indexOf('/', prefix.length()) < 0)
                        .map(e -> info(e.getKey(), e.getValue())).toList();
                l.onResponse(FsResponse.success(new FsResponseData.Entries(entries)));
            } else if (op instanceof FsOp.OpenFile o) {
                long h = handles.incrementAndGet();
                open.put(h, o.path());
                l.onResponse(FsResponse.success(new FsResponseData.Handle(h)));
            } else if (op instanceof FsOp.Read r) {
                byte[] bytes = tree.get(open.get(r.handle())).content().getBytes(StandardCharsets.UTF_8);
                if (r.offset() < bytes.length) {
                    byte[] rest = new byte[(int) Math.min(bytes.length - r.offset(), r.len())];
                    System.arraycopy(bytes, (int) r.offset(), rest, 0, rest.length);
                    l.onData(rest);
                }
                l.onResponse(FsResponse.success(null));
            } else if (op instanceof FsOp.ReadLink r) {
                l.onResponse(FsResponse.success(new FsResponseData.Path(tree.get(r.path()).content())));
            } else {
                l.onResponse(FsResponse.success(null)); // Close
            }
        }));
    }

    private static FsEntryInfo info(String path, Node n) {
        long type = switch (n.kind()) {
            case FsEntryInfo.DIR -> 040000;
            case FsEntryInfo.SYMLINK -> 0120000;
            default -> 0100000;
        };
        return new FsEntryInfo(path, n.kind(), n.content().length(), type | n.mode(), n.time(), 0, 0, n.time(),
                n.time());
    }

    private int cp(GuestFiles guest, String... args) throws Exception {
        return new Cp(CpOptions.parse(List.of(args)), InputStream.nullInputStream(), OutputStream.nullOutputStream(),
                err).run(guest);
    }

    private String err() {
        return errBytes.toString(StandardCharsets.UTF_8);
    }

    /** When the agent is asked for {@code guestDir}'s listing, {@code hostDir} is moved aside and a link to {@code to} put in its place. */
    private static Consumer<FsOp> swapOnListing(String guestDir, Path hostDir, Path to) {
        return op -> {
            if (op instanceof FsOp.ListDir l && l.path().equals(guestDir)) {
                try {
                    Files.move(hostDir, hostDir.resolveSibling("moved-away"));
                    Files.createSymbolicLink(hostDir, to);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
    }

    /**
     * The review's case: cp made DST/d/sub, and before it wrote DST/d/sub/authorized_keys sub was
     * swapped for a link to another directory. The file was written there (every later path was
     * looked up again through the link), exit 0 and nothing said. Now it goes into the directory
     * the copy made and holds open, wherever that was moved; the link is not followed.
     */
    @Test
    void aDirectorySwappedForALinkWhileItIsFilledIsNotFollowed(@TempDir Path root) throws Exception {
        Path outside = Files.createDirectories(root.resolve("outside"));
        Path dst = Files.createDirectories(root.resolve("dst"));
        Map<String, Node> tree = Map.of(
                "/d", dir(0755),
                "/d/sub", dir(0755),
                "/d/sub/authorized_keys", file(0644, "ssh-ed25519 AAAA attacker\n"));

        int status = cp(guest(tree, swapOnListing("/d/sub", dst.resolve("d/sub"), outside)), ":/d", dst.toString());

        assertEquals(Map.of(), tree(outside), "nothing written where the link points");
        assertEquals(0, status, err());
        assertEquals("ssh-ed25519 AAAA attacker\n", Files.readString(dst.resolve("d/moved-away/authorized_keys")),
                "written into the directory the copy made");
        assertTrue(Files.isSymbolicLink(dst.resolve("d/sub")), "the link left as it was put there");
    }

    /**
     * A directory further up (DST/d, which the copy made too) swapped for a link to a directory
     * holding a "sub" of its own: the copy of d/sub/f went on below the link before. What is made
     * after the swap (a directory, a link) is made in the directories held open too.
     */
    @Test
    void aDirectoryAboveSwappedForALinkIsNotFollowedEither(@TempDir Path root) throws Exception {
        Path outside = Files.createDirectories(root.resolve("outside"));
        Files.createDirectory(outside.resolve("sub"));
        Path dst = Files.createDirectories(root.resolve("dst"));
        Map<String, Node> tree = Map.of(
                "/d", dir(0755),
                "/d/sub", dir(0755),
                "/d/sub/f", file(0644, "guest bytes\n"),
                "/d/sub/deeper", dir(0700),
                "/d/sub/deeper/g", file(0600, "more\n"),
                "/d/sub/link", new Node(FsEntryInfo.SYMLINK, 0777, "deeper/g", 1_500_000_000L));

        int status = cp(guest(tree, swapOnListing("/d/sub", dst.resolve("d"), outside)), ":/d", dst.toString());

        assertEquals(Map.of("sub", "dir"), tree(outside), "nothing written where the link points");
        assertEquals(0, status, err());
        assertEquals("guest bytes\n", Files.readString(dst.resolve("moved-away/sub/f")));
        assertEquals("more\n", Files.readString(dst.resolve("moved-away/sub/deeper/g")));
        assertEquals(Path.of("deeper/g"), Files.readSymbolicLink(dst.resolve("moved-away/sub/link")));
    }

    /**
     * A download nobody disturbs, with -a: nested directories (a read-only one filled and closed
     * after, one with the sticky bit), files' modes and times, a file already there replaced, into
     * a destination operand that is a link to a directory (followed: the user named it).
     */
    @Test
    void anUndisturbedArchiveDownloadWritesTheTreeAsBefore(@TempDir Path root) throws Exception {
        Path real = Files.createDirectories(root.resolve("real"));
        Path link = Files.createSymbolicLink(root.resolve("link"), real);
        Files.createDirectories(real.resolve("d/a"));
        Files.writeString(real.resolve("d/a/f"), "old bytes, longer than the new\n");
        Map<String, Node> tree = new TreeMap<>(Map.of(
                "/d", dir(0750),
                "/d/a", dir(0755),
                "/d/a/f", new Node(FsEntryInfo.FILE, 0640, "new\n", 1_400_000_000L),
                "/d/a/ro", dir(0555),
                "/d/a/ro/x", file(0444, "x\n"),
                "/d/t", dir(01777),
                "/d/t/y", file(0600, "y\n")));

        int status = cp(guest(tree, op -> {}), "-a", ":/d", link.toString());

        assertEquals(0, status, err());
        assertEquals("", err());
        Path d = real.resolve("d");
        assertEquals(Map.of("a", "dir", "a/f", "new\n", "a/ro", "dir", "a/ro/x", "x\n", "t", "dir",
                "t/y", "y\n"), tree(d), "no temporary file left either");
        assertEquals(0640, mode(d.resolve("a/f")));
        assertEquals(1_400_000_000L, Files.getLastModifiedTime(d.resolve("a/f")).toMillis() / 1000);
        assertEquals(1_500_000_000L, Files.getLastModifiedTime(d.resolve("a/ro")).toMillis() / 1000);
        assertEquals(1_500_000_000L, Files.getLastModifiedTime(d).toMillis() / 1000);
        assertEquals(0555, mode(d.resolve("a/ro")));
        assertEquals(0444, mode(d.resolve("a/ro/x")));
        assertEquals(01777, mode(d.resolve("t")), "the sticky bit kept too");
        assertEquals(0750, mode(d));
        assertTrue(Files.isSymbolicLink(link));
    }

    /**
     * Without -a: modes less the umask, a read-only directory made open and closed after, and a
     * single file downloaded to a new name and over an existing file, in a relative destination.
     */
    @Test
    void anUndisturbedDownloadWithoutArchiveAndSingleFiles(@TempDir Path root) throws Exception {
        Path dst = Files.createDirectories(root.resolve("dst"));
        Files.writeString(dst.resolve("existing"), "old\n");
        Map<String, Node> tree = new TreeMap<>(Map.of(
                "/d", dir(0755),
                "/d/ro", dir(0500),
                "/d/ro/x", file(0644, "x\n"),
                "/f", file(0600, "f\n")));
        GuestFiles guest = guest(tree, op -> {});

        assertEquals(0, cp(guest, ":/d", dst.toString()), err());
        assertEquals(0, cp(guest, ":/f", dst.resolve("new").toString()), err());
        assertEquals(0, cp(guest, ":/f", dst.resolve("existing").toString()), err());
        String relative = Path.of("").toAbsolutePath().relativize(dst).toString();
        assertEquals(0, cp(guest, ":/f", relative + "/relative"), err());

        assertEquals("x\n", Files.readString(dst.resolve("d/ro/x")));
        assertEquals(0500, mode(dst.resolve("d/ro")) & 0700, "its owner bits back as the guest had them");
        assertEquals("f\n", Files.readString(dst.resolve("new")));
        assertEquals("f\n", Files.readString(dst.resolve("existing")));
        assertEquals("f\n", Files.readString(dst.resolve("relative")));
        assertFalse(Files.isDirectory(dst.resolve("new")));
    }

    private static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
    }

    /** Every entry below {@code dir}: a directory's "dir", a file's bytes, a link's "-> target". */
    private static Map<String, String> tree(Path dir) throws IOException {
        Map<String, String> found = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(p -> !p.equals(dir)).toList()) {
                String name = dir.relativize(p).toString();
                found.put(name, Files.isSymbolicLink(p) ? "-> " + Files.readSymbolicLink(p)
                        : Files.isDirectory(p) ? "dir" : Files.readString(p));
            }
        }
        return found;
    }
}
