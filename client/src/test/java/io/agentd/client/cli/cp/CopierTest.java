package io.agentd.client.cli.cp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.fs.AnsweringTransport;
import io.agentd.client.fs.FsTransport;
import io.agentd.client.fs.GuestFiles;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.LongConsumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Copier driven directly: a guest whose listings say what a test wants (a fake {@link FsTransport}
 * under a real {@link GuestFiles}) copied to the host, and host trees copied through a
 * {@link DestTree} that fails as a JVM without a UTF-8 locale does.
 */
@Timeout(30)
class CopierTest {
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

    private Copier copier() {
        return new Copier(err, false, CopyProgress.forTest(err, System::nanoTime));
    }

    private String err() {
        return errBytes.toString(StandardCharsets.UTF_8);
    }

    /**
     * A guest whose lstat says what {@code kind} gives for a path (null: ENOENT), whose listing of a
     * directory is what {@code listing} gives (as the agent's paths), whose files hold
     * {@code content} and whose links point at {@code links}.
     */
    private static GuestTree guest(Function<String, String> kind, Function<String, List<String>> listing,
                                   Map<String, String> content, Map<String, String> links) {
        return guest(kind, listing, content, links, Map.of());
    }

    /** As above, the paths in {@code modes} with those permission bits (07777) instead of 0755 or 0644. */
    private static GuestTree guest(Function<String, String> kind, Function<String, List<String>> listing,
                                   Map<String, String> content, Map<String, String> links, Map<String, Long> modes) {
        return new GuestTree(guestFiles(kind, listing, content, links, modes));
    }

    private static GuestFiles guestFiles(Function<String, String> kind, Function<String, List<String>> listing,
                                         Map<String, String> content, Map<String, String> links, Map<String, Long> modes) {
        AtomicLong ids = new AtomicLong(1);
        Map<Long, String> open = new HashMap<>();
        FsTransport t = new AnsweringTransport((op, l) -> {
            if (op instanceof FsOp.Stat s) {
                String k = kind.apply(s.path());
                if (k == null) {
                    l.onResponse(new FsResponse(false, s.path() + ": No such file or directory (os error 2)",
                            null, 2, "ENOENT", null));
                } else {
                    l.onResponse(FsResponse.success(new FsResponseData.Stat(info(s.path(), k, modes))));
                }
            } else if (op instanceof FsOp.ListDir d) {
                List<FsEntryInfo> entries = listing.apply(d.path()).stream()
                        .map(p -> info(p, FsEntryInfo.FILE, modes)).toList();
                l.onResponse(FsResponse.success(new FsResponseData.Entries(entries)));
            } else if (op instanceof FsOp.OpenFile o) {
                long h = ids.incrementAndGet() + 1000;
                open.put(h, o.path());
                l.onResponse(FsResponse.success(new FsResponseData.Handle(h)));
            } else if (op instanceof FsOp.Read rd) {
                byte[] bytes = content.getOrDefault(open.get(rd.handle()), "").getBytes(StandardCharsets.UTF_8);
                if (rd.offset() < bytes.length) {
                    byte[] rest = new byte[bytes.length - (int) rd.offset()];
                    System.arraycopy(bytes, (int) rd.offset(), rest, 0, rest.length);
                    l.onData(rest);
                }
                l.onResponse(FsResponse.success(null));
            } else if (op instanceof FsOp.ReadLink rl) {
                l.onResponse(FsResponse.success(new FsResponseData.Path(links.get(rl.path()))));
            } else {
                l.onResponse(FsResponse.success(null));
            }
        });
        return GuestFiles.over(t);
    }

    private static FsEntryInfo info(String path, String kind, Map<String, Long> modes) {
        long type = switch (kind) {
            case FsEntryInfo.DIR -> 040000;
            case FsEntryInfo.SYMLINK -> 0120000;
            default -> 0100000;
        };
        long perm = modes.getOrDefault(path, kind.equals(FsEntryInfo.DIR) ? 0755L : 0644L);
        return new FsEntryInfo(path, kind, 6, type | perm, 0L, 0, 0, 0L, 0L);
    }

    /**
     * A guest tree deeper than a copy goes ({@value Copier#MAX_DEPTH} directories), archived by
     * {@code cp :/d -} called from a thread with the JVM's default stack, as agentctl's main thread
     * is: the copy ends at the limit with one failed item and a finished tar. Before, the copy ran
     * on the caller's stack and overflowed it (a StackOverflowError: agentctl's internal error).
     * It took 22-27 s until the tar's entries cut their long names for the ustar field in one pass
     * ({@link UstarEntry}; the names here grow to 4 KiB): about 1 s now, within the class's 30 s.
     */
    @Test
    void aTreeDeeperThanTheLimitEndsWithOneFailureAndAFinishedTar() throws Exception {
        GuestFiles files = guestFiles(p -> p.startsWith("/d") ? FsEntryInfo.DIR : null, p -> List.of(p + "/d"),
                Map.of(), Map.of(), Map.of());
        ByteArrayOutputStream tarBytes = new ByteArrayOutputStream();
        Cp cp = new Cp(CpOptions.parse(List.of(":/d", "-")), InputStream.nullInputStream(), tarBytes, err);
        int[] status = {-1};
        Throwable[] thrown = new Throwable[1];
        Thread caller = new Thread(() -> { // the default stack, not the test runner's
            try {
                status[0] = cp.run(files);
            } catch (Throwable t) {
                thrown[0] = t;
            }
        }, "default-stack");
        caller.start();
        caller.join();
        assertNull(thrown[0], () -> String.valueOf(thrown[0]));
        assertEquals(1, status[0], err());
        assertTrue(err().contains("more than " + Copier.MAX_DEPTH + " directories deep"), err());
        int members = 0;
        try (org.apache.commons.compress.archivers.tar.TarArchiveInputStream tar =
                new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
                        new java.io.ByteArrayInputStream(tarBytes.toByteArray()))) {
            while (tar.getNextEntry() != null) {
                members++;
            }
        }
        assertEquals(Copier.MAX_DEPTH + 1, members, "/d and every directory below it down to the limit, in a tar that ends");
    }

    /**
     * From a guest whose directory is 0677 (no u+x: made open, filled, then given its mode) holding a
     * setuid file: without -a the directory ends as its mode less this process's umask (before, 0677
     * exactly: world-writable on the host under a 022 umask); with -a the file loses its set-id bits
     * (before, a guest's 04755 was a setuid binary of whoever copied it) and a sticky bit stays.
     */
    @Test
    void modesFromTheGuestKeepTheUmaskAndNeverSetIdBits(@TempDir Path local) throws Exception {
        Function<String, String> kind = p -> p.equals("/d") || p.equals("/t") ? FsEntryInfo.DIR
                : p.equals("/d/f") ? FsEntryInfo.FILE : null;
        Function<String, List<String>> listing = p -> p.equals("/d") ? List.of("/d/f") : List.of();
        Map<String, Long> modes = Map.of("/d", 0677L, "/d/f", 04755L, "/t", 01777L);
        Path probe = Files.createDirectory(local.resolve("probe"),
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx")));
        int umask = ~(Integer) Files.getAttribute(probe, "unix:mode") & 0777;

        copy(copier(), guest(kind, listing, Map.of("/d/f", "x"), Map.of(), modes), "/d", new HostTree(),
                local.resolve("plain").toString());
        assertEquals(0677 & ~umask, (Integer) Files.getAttribute(local.resolve("plain"), "unix:mode") & 07777,
                "umask " + Integer.toOctalString(umask) + "; " + err());

        Copier keeping = new Copier(err, true, CopyProgress.forTest(err, System::nanoTime));
        copy(keeping, guest(kind, listing, Map.of("/d/f", "x"), Map.of(), modes), "/d", new HostTree(),
                local.resolve("kept").toString());
        assertEquals(0755, (Integer) Files.getAttribute(local.resolve("kept/f"), "unix:mode") & 07777, err());
        assertEquals(0677, (Integer) Files.getAttribute(local.resolve("kept"), "unix:mode") & 07777, err());
        copy(keeping, guest(kind, listing, Map.of(), Map.of(), modes), "/t", new HostTree(),
                local.resolve("sticky").toString());
        assertEquals(01777, (Integer) Files.getAttribute(local.resolve("sticky"), "unix:mode") & 07777, err());
    }

    /** Every path under {@code root}, relative to it. */
    private static Set<String> tree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.map(p -> root.relativize(p).toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    /** One source operand, as Cp.copyAll copies it. */
    private void copy(Copier c, SourceTree src, String srcPath, DestTree dst, String dstPath) throws IOException {
        Entry e = c.lstat(src, srcPath);
        String target = e == null ? null : c.target(src, srcPath, e, dst, dstPath);
        if (target != null) {
            c.copyOperand(src, srcPath, e, dst, target);
        }
    }

    /** A guest whose "/d" lists {@code names} ("/d/f" a file), every other directory ".." (three deep, then "evil"). */
    private static GuestTree walkingGuest(List<String> names) {
        return guest(
                p -> p.endsWith("evil") || p.equals("/d/f") || p.contains("\0") ? FsEntryInfo.FILE
                        : p.equals("/d") || p.contains("..") || p.endsWith("/.") || p.endsWith("/") ? FsEntryInfo.DIR
                        : null,
                p -> {
                    if (p.equals("/d")) {
                        return names;
                    }
                    int ups = p.split("/\\.\\.", -1).length - 1;
                    return List.of(p + "/" + (ups < 3 ? ".." : "evil"));
                },
                Map.of("/d/f", "f\n", "/d/../../../evil", "pwned\n"), Map.of());
    }

    /**
     * A guest's deep tree of wide directories: each listing is held while its subdirectories are
     * copied, so the names held grow level by level (1 Mi names a level could reach billions). Past
     * the budget a directory's contents are one failed item and the copy goes on; what it held is
     * given back on the way up (a second copy meets the same edge). Before, nothing bounded it.
     */
    @Test
    void theListingsHeldAlongAPathAreBounded(@TempDir Path root) throws Exception {
        // "/d" and each ".../s" list a directory "s" and nine files, ten levels deep.
        GuestTree deep = guest(
                p -> p.equals("/d") || p.endsWith("/s") ? FsEntryInfo.DIR : FsEntryInfo.FILE,
                p -> {
                    List<String> names = new java.util.ArrayList<>();
                    if (p.split("/s", -1).length <= 10) {
                        names.add(p + "/s");
                    }
                    for (int i = 0; i < 9; i++) {
                        names.add(p + "/f" + i);
                    }
                    return names;
                },
                Map.of(), Map.of());
        for (String run : List.of("first", "second")) {
            Path local = Files.createDirectories(root.resolve(run));
            Copier c = new Copier(err, false, CopyProgress.forTest(err, System::nanoTime), new ListingBudget(50, 1 << 20));
            copy(c, deep, "/d", new HostTree(), local.toString());
            assertEquals(1, c.failures(), err());
            assertTrue(Files.isRegularFile(local.resolve("d/s/s/s/s/f8")), "five levels held: 50 names");
            assertFalse(Files.exists(local.resolve("d/s/s/s/s/s/f0")), "the sixth level's listing was refused");
        }
        assertTrue(err().contains("cannot copy the contents of ':/d/s/s/s/s/s': the directory listings open along its"
                + " path would hold more than 50 names"), err());
    }

    /**
     * The reviewer's walk: "/d" lists "..", whose ".." lists "..", ... and three levels up a file
     * "evil"; beside it "f", twice. Before the fix "evil" was written three directories above the
     * destination and the copy reported no failure.
     */
    @Test
    void aDotDotInAGuestListingDoesNotLeaveTheDestination(@TempDir Path root) throws Exception {
        Path local = Files.createDirectories(root.resolve("one/two/three/local"));
        Copier c = copier();
        copy(c, walkingGuest(List.of("/d/..", "/d/f", "/d/f")), "/d", new HostTree(), local.toString());

        assertEquals(Set.of("", "one", "one/two", "one/two/three", "one/two/three/local",
                "one/two/three/local/d", "one/two/three/local/d/f"), tree(root), "nothing outside the destination");
        assertEquals("f\n", Files.readString(local.resolve("d/f")));
        assertEquals("agentctl cp: cannot copy an entry of ':/d': its listing gives it the name '..', which is not"
                + " a file name\n", err(), "one failure, f copied once");
        assertEquals(1, c.failures());
    }

    /**
     * "" (an entry path "/"), "." and a name with NUL: each a failed item, the rest copied. Before
     * the fix "" and "." copied "/d" into itself until StackOverflowError.
     */
    @Test
    void namesThatAreNotOneEntryAreEachAFailedItem(@TempDir Path root) throws Exception {
        Path local = Files.createDirectories(root.resolve("local"));
        Copier c = copier();
        copy(c, walkingGuest(List.of("/", "/d/.", "/d/x\0y", "/d/f")), "/d", new HostTree(), local.toString());

        assertEquals(3, c.failures(), err());
        assertEquals(Set.of("", "local", "local/d", "local/d/f"), tree(root));
        for (String name : List.of("''", "'.'", "'x\\x00y'")) {
            assertTrue(err().contains("cannot copy an entry of ':/d': its listing gives it the name " + name
                    + ", which is not a file name"), err());
        }
    }

    /** A last name of "." or "..", trailing slashes aside, copies a directory's contents (cp(1)). */
    @Test
    void aSourceWhoseLastNameIsDotOrDotDotIsCopiedAsItsContents() {
        for (String p : List.of(".", "..", "./", "../", "d/.", "d/..", "d/./", "d/..//", "/d/e/..", "/..", "/",
                "//")) {
            assertTrue(OperandTarget.contentsOnly(p), p);
        }
        for (String p : List.of("d", "d/", "d/..x", "d/x..", "..d", "d/.x", "/d", "/d/")) {
            assertFalse(OperandTarget.contentsOnly(p), p);
        }
    }

    /**
     * cp :/ DIR/ copies the guest's root as its contents, as "/." (its name is "", nothing to copy
     * it under). Before, the name "" was joined to DIR, HostTree refused it with
     * InvalidPathException, and the line said the ASCII path could not be encoded in the locale.
     */
    @Test
    void theRootIsCopiedAsItsContents(@TempDir Path root) throws Exception {
        GuestTree guest = guest( // "//f" is "/f", as the guest's kernel says
                p -> switch (p.replaceAll("/+", "/")) {
                    case "/", "/sub" -> FsEntryInfo.DIR;
                    case "/f", "/sub/g" -> FsEntryInfo.FILE;
                    default -> null;
                },
                p -> switch (p.replaceAll("/+", "/")) {
                    case "/" -> List.of("/f", "/sub");
                    case "/sub" -> List.of("/sub/g");
                    default -> List.of();
                },
                Map.of("/f", "f\n", "/sub/g", "g\n", "//f", "f\n", "//sub/g", "g\n"), Map.of());
        for (String source : List.of("/", "//")) {
            Path local = Files.createDirectory(root.resolve("local" + source.length()));
            Copier c = copier();
            copy(c, guest, source, new HostTree(), local + "/");
            assertEquals(0, c.failures(), err());
            assertEquals(Set.of("", "f", "sub", "sub/g"), tree(local), source);
            assertEquals("g\n", Files.readString(local.resolve("sub/g")));
        }
    }

    /**
     * No tree joins a name that is not one entry's to a directory, whatever its caller: before,
     * HostTree took ".." (its last name is ".." again), and GuestTree and TarSink joined anything.
     */
    @Test
    void noTreeJoinsANameThatIsNotOneEntry(@TempDir Path root) {
        HostTree host = new HostTree();
        GuestTree guest = new GuestTree(null);
        TarSink tar = new TarSink(java.io.OutputStream.nullOutputStream());
        for (String name : List.of("", ".", "..", "a/b", "../x", "/", "x\0y")) {
            assertThrows(IllegalArgumentException.class, () -> host.child(root.toString(), name), name);
            assertThrows(IllegalArgumentException.class, () -> guest.child("/d", name), name);
            assertThrows(IllegalArgumentException.class, () -> tar.child("d", name), name);
            assertThrows(IllegalArgumentException.class, () -> tar.child("", name), name);
        }
        assertEquals(root.resolve("..x").toString(), host.child(root.toString(), "..x"));
        assertEquals("/d/..x", guest.child("/d", "..x"));
        assertEquals("d/.x", tar.child("d", ".x"));
    }

    /**
     * Two sources of one name, a link to a directory outside and a directory: the second is not
     * copied through the link the first made (cp(1): "cannot overwrite non-directory").
     */
    @Test
    void aLinkThisCopyMadeIsNotCopiedThrough(@TempDir Path root) throws Exception {
        Path outside = Files.createDirectories(root.resolve("outside"));
        Path local = Files.createDirectories(root.resolve("local"));
        GuestTree guest = guest(
                p -> switch (p) {
                    case "/a/x" -> FsEntryInfo.SYMLINK;
                    case "/b/x" -> FsEntryInfo.DIR;
                    case "/b/x/y" -> FsEntryInfo.FILE;
                    default -> null;
                },
                p -> p.equals("/b/x") ? List.of("/b/x/y") : List.of(),
                Map.of("/b/x/y", "y\n"), Map.of("/a/x", outside.toString()));
        Copier c = copier();
        copy(c, guest, "/a/x", new HostTree(), local.toString());
        copy(c, guest, "/b/x", new HostTree(), local.toString());

        assertEquals(1, c.failures(), err());
        assertTrue(Files.isSymbolicLink(local.resolve("x")));
        assertEquals(Set.of(""), tree(outside), "nothing written through the link");
        assertTrue(err().contains("cannot overwrite non-directory '" + local.resolve("x") + "' with directory ':/b/x'"),
                err());
    }

    /**
     * A link already in the destination, left by an earlier copy or put there by someone else, is
     * not a directory to copy into (cp(1) lstats what it copies into; only the operand itself is
     * followed): before, the copy of a directory of its name went through it and wrote where it
     * points. The operand may still be a link to a directory.
     */
    @Test
    void aLinkAlreadyInTheDestinationIsNotCopiedThrough(@TempDir Path root) throws Exception {
        Path outside = Files.createDirectories(root.resolve("outside"));
        Path local = Files.createDirectories(root.resolve("local"));
        Files.createSymbolicLink(local.resolve("x"), outside);
        Path viaLink = root.resolve("via-link");
        Files.createSymbolicLink(viaLink, local);
        GuestTree guest = guest(
                p -> switch (p) {
                    case "/b/x" -> FsEntryInfo.DIR;
                    case "/b/x/y" -> FsEntryInfo.FILE;
                    default -> null;
                },
                p -> p.equals("/b/x") ? List.of("/b/x/y") : List.of(),
                Map.of("/b/x/y", "y\n"), Map.of());
        Copier c = copier();
        copy(c, guest, "/b/x", new HostTree(), viaLink.toString()); // the operand, a link to a directory

        assertEquals(1, c.failures(), err());
        assertEquals(Set.of(""), tree(outside), "nothing written through the link");
        assertTrue(err().contains("cannot overwrite non-directory '" + viaLink.resolve("x") + "' with directory ':/b/x'"),
                err());
    }

    /**
     * A FIFO (or a device: cp :/x /dev/null) named as the destination is written into, as cp(1)
     * does; a file renamed over it made the host's /dev/null a regular file. Below the operand the
     * name is the guest's: a FIFO there is refused and left as it is (writing into it would feed
     * whatever reads it, or block for ever with nobody reading).
     */
    @Test
    void aFifoNamedAsTheDestinationIsWrittenIntoAndOneBelowItIsRefused(@TempDir Path root) throws Exception {
        Path src = Files.writeString(root.resolve("f"), "guest bytes\n");
        Path fifo = mkfifo(root.resolve("fifo"));
        Files.writeString(Files.createDirectories(root.resolve("srcdir")).resolve("inner"), "inner bytes\n");
        Path dir = Files.createDirectories(root.resolve("dir"));
        Path innerFifo = mkfifo(Files.createDirectories(dir.resolve("srcdir")).resolve("inner"));
        Copier c = copier();
        HostTree host = new HostTree();

        java.util.concurrent.CompletableFuture<String> read = readFifo(fifo);
        copy(c, host, src.toString(), host, fifo.toString());
        assertEquals("guest bytes\n", read.get(10, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(0, c.failures(), err());

        copy(c, host, root.resolve("srcdir").toString(), host, dir.toString());
        assertEquals(1, c.failures(), err());
        assertTrue(err().contains("cannot overwrite '" + innerFifo + "': a FIFO or device is written into only when"),
                err());
        assertTrue(isFifo(fifo) && isFifo(innerFifo), "still FIFOs");
    }

    /**
     * The destination operand a link to a FIFO or device (cp :/x /dev/stdout, a link to a terminal
     * or pipe): written into, the link kept, as cp(1) does. A link to a file is still replaced by
     * the file (docs/AGENTCTL.md, "Replacing files": as a tar extraction and docker cp do), and a
     * link below the operand is never followed (aLinkAlreadyInTheDestinationIsNotCopiedThrough).
     */
    @Test
    void aLinkToAFifoNamedAsTheDestinationIsWrittenInto(@TempDir Path root) throws Exception {
        Path src = Files.writeString(root.resolve("f"), "new\n");
        Path file = Files.writeString(root.resolve("file"), "old\n");
        Path link = Files.createSymbolicLink(root.resolve("link"), file);
        Path fifo = mkfifo(root.resolve("fifo"));
        Path fifoLink = Files.createSymbolicLink(root.resolve("fifo-link"), fifo);
        Copier c = copier();
        HostTree host = new HostTree();

        java.util.concurrent.CompletableFuture<String> read = readFifo(fifo);
        copy(c, host, src.toString(), host, fifoLink.toString());
        copy(c, host, src.toString(), host, link.toString());

        assertEquals(0, c.failures(), err());
        assertEquals("new\n", read.get(10, java.util.concurrent.TimeUnit.SECONDS));
        assertTrue(Files.isSymbolicLink(fifoLink) && isFifo(fifo), "the link and its FIFO stay");
        assertFalse(Files.isSymbolicLink(link), "a link to a file is replaced");
        assertEquals("new\n", Files.readString(link));
        assertEquals("old\n", Files.readString(file));
    }

    private static Path mkfifo(Path p) throws Exception {
        assertEquals(0, new ProcessBuilder("mkfifo", p.toString()).start().waitFor());
        return p;
    }

    private static boolean isFifo(Path p) throws IOException {
        return Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class,
                java.nio.file.LinkOption.NOFOLLOW_LINKS).isOther();
    }

    private static java.util.concurrent.CompletableFuture<String> readFifo(Path fifo) {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return Files.readString(fifo);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    /**
     * The agent's message names the guest's path raw, and a hostile agent may send any text: what cp
     * prints of it is one line with its control characters escaped (an ESC here set the terminal's
     * title, and a newline forged a line of cp's output).
     */
    @Test
    void anAgentsMessageIsPrintedWithItsControlCharactersEscaped() throws Exception {
        Copier c = copier();
        String raw = "open /g/evil\u001b]0;PWNED\u0007\nagentctl cp: everything copied fine: a FIFO (os error 6)";
        c.report(CopyFailure.of("cannot open", ":/g/evil", new io.agentd.client.fs.GuestFileException("/g/evil", 6,
                "ENXIO", raw)));

        assertEquals(1, c.failures());
        assertEquals("agentctl cp: cannot open ':/g/evil': open /g/evil\\x1b]0;PWNED\\x07\\nagentctl cp: everything"
                + " copied fine: a FIFO\n", err());
    }

    /** cp x/f y/f DIR: the second f is refused as cp(1) refuses it, and the first stays. */
    @Test
    void aSecondSourceOfOneNameDoesNotReplaceTheFirst(@TempDir Path root) throws Exception {
        Path x = Files.createDirectories(root.resolve("x"));
        Path y = Files.createDirectories(root.resolve("y"));
        Path d = Files.createDirectories(root.resolve("d"));
        Files.writeString(x.resolve("f"), "x\n");
        Files.writeString(y.resolve("f"), "y\n");
        Copier c = copier();
        HostTree host = new HostTree();
        copy(c, host, x.resolve("f").toString(), host, d.toString());
        copy(c, host, y.resolve("f").toString(), host, d.toString());

        assertEquals(1, c.failures(), err());
        assertEquals("x\n", Files.readString(d.resolve("f")));
        assertEquals("agentctl cp: will not overwrite just-created '" + d.resolve("f") + "' with '" + y.resolve("f")
                + "'\n", err());
    }

    /**
     * A name the JVM cannot encode (its locale ASCII): that item fails, the rest is copied. Before
     * the fix the InvalidPathException ended the copy and agentctl with a stack trace.
     */
    @Test
    void aNameTheHostCannotEncodeIsOneFailedItem(@TempDir Path root) throws Exception {
        Path src = Files.createDirectories(root.resolve("src"));
        Files.writeString(src.resolve("café.txt"), "c\n");
        Files.writeString(src.resolve("zzz.txt"), "z\n");
        Path out = Files.createDirectories(root.resolve("out"));
        HostTree host = new HostTree();
        DestTree asciiOnly = new DestTree() {
            private String check(String path) {
                if (!StandardCharsets.US_ASCII.newEncoder().canEncode(path)) {
                    throw new InvalidPathException(path, "Malformed input or input contains unmappable characters");
                }
                return path;
            }

            @Override
            public String show(String path) {
                return path;
            }

            @Override
            public Entry stat(String path) throws IOException {
                return host.stat(check(path));
            }

            @Override
            public Entry lstatIfAny(String path) throws IOException {
                return host.lstatIfAny(check(path));
            }

            @Override
            public Held openParentOf(String target) throws IOException {
                return host.openParentOf(check(target));
            }

            @Override
            public Held enter(String dir, boolean operand) throws IOException {
                return host.enter(check(dir), operand);
            }

            @Override
            public void mkdir(String path, Entry source) throws IOException {
                host.mkdir(check(path), source);
            }

            @Override
            public void writeFile(String path, Entry source, boolean keep, InputStream in, LongConsumer progress)
                    throws IOException {
                host.writeFile(check(path), source, keep, in, progress);
            }

            @Override
            public void symlink(String target, String path, Entry link) throws IOException {
                host.symlink(target, check(path), link);
            }

            @Override
            public void chmod(String path, long mode) throws IOException {
                host.chmod(check(path), mode);
            }

            @Override
            public void keepAttributes(String path, Entry source) throws IOException {
                host.keepAttributes(check(path), source);
            }

            @Override
            public String child(String dir, String name) {
                return check(host.child(dir, name));
            }

            @Override
            public String parent(String path) {
                return host.parent(path);
            }
        };
        Copier c = copier();
        copy(c, host, src.toString(), asciiOnly, out.toString());

        assertEquals(1, c.failures(), err());
        assertEquals("z\n", Files.readString(out.resolve("src/zzz.txt")));
        assertFalse(Files.exists(out.resolve("src/café.txt")));
        assertTrue(err().contains("the name cannot be encoded in this locale's charset"), err());
    }

    /**
     * cp -a :/d/. LINK, LINK a link to a host directory: the contents go where it points (the
     * operand is followed) and so does d's mode, as GNU cp -a d/. link sets it; the link stays.
     * Before, the mode was set on the operand without following it (ELOOP: "preserving permissions
     * for", exit 1), and the directory kept its own.
     */
    @Test
    void anArchiveCopyIntoALinkToAHostDirectoryGivesWhereItPointsTheMode(@TempDir Path root) throws Exception {
        Path real = Files.createDirectories(root.resolve("real"));
        Files.setPosixFilePermissions(real, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path link = Files.createSymbolicLink(root.resolve("link"), real);
        GuestTree guest = guest(p -> p.equals("/d") || p.equals("/d/.") ? FsEntryInfo.DIR
                        : p.equals("/d/./f") ? FsEntryInfo.FILE : null,
                p -> p.equals("/d/.") ? List.of("/d/f") : List.of(), Map.of("/d/./f", "x\n"), Map.of(),
                Map.of("/d", 0750L, "/d/.", 0750L));
        Copier keeping = new Copier(err, true, CopyProgress.forTest(err, System::nanoTime));

        copy(keeping, guest, "/d/.", new HostTree(), link.toString());

        assertEquals(0, keeping.failures(), err());
        assertEquals("x\n", Files.readString(real.resolve("f")));
        assertEquals(0750, (Integer) Files.getAttribute(real, "unix:mode") & 07777, "the mode on where the link points");
        assertTrue(Files.isSymbolicLink(link), "the link stays a link");
    }

    /**
     * cp -a DIR/. :/link, /link a link to a guest directory: d's attributes are set following the
     * link (as GNU cp -a does), those of what the copy made below it never through one. Before, the
     * operand's SetStat did not follow it (the agent then set a link's mode: EOPNOTSUPP, exit 1).
     */
    @Test
    void anArchiveCopyIntoALinkToAGuestDirectorySetsItsAttributesFollowingItAndNoneBelow(@TempDir Path root)
            throws Exception {
        Path src = Files.createDirectories(root.resolve("src"));
        Files.setPosixFilePermissions(src, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
        Files.createDirectory(src.resolve("sub"));
        List<String> setStats = new java.util.ArrayList<>();
        GuestFiles files = GuestFiles.over(new AnsweringTransport((op, l) -> {
            if (op instanceof FsOp.Stat s && s.path().equals("/link")) {
                l.onResponse(FsResponse.success(new FsResponseData.Stat(s.followSymlink()
                        ? new FsEntryInfo("/link", FsEntryInfo.DIR, 4096, 040755, 0L, 0, 0, 0L, 0L)
                        : new FsEntryInfo("/link", FsEntryInfo.SYMLINK, 4, 0120777, 0L, 0, 0, 0L, 0L))));
            } else if (op instanceof FsOp.Stat s) {
                l.onResponse(new FsResponse(false, s.path() + ": No such file or directory (os error 2)", null, 2,
                        "ENOENT", null));
            } else if (op instanceof FsOp.SetStat s) {
                setStats.add(s.path() + (s.followSymlink() ? " followed " : " ") + Long.toOctalString(s.attrs().mode()));
                l.onResponse(FsResponse.success(null));
            } else {
                l.onResponse(FsResponse.success(null)); // Mkdir
            }
        }));
        Copier keeping = new Copier(err, true, CopyProgress.forTest(err, System::nanoTime));

        copy(keeping, new HostTree(), src + "/.", new GuestTree(files), "/link");

        assertEquals(0, keeping.failures(), err());
        int subMode = (Integer) Files.getAttribute(src.resolve("sub"), "unix:mode") & 07777;
        assertEquals(List.of("/link/sub " + Integer.toOctalString(subMode), "/link followed 750"), setStats);
    }
}
