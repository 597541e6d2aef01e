package io.agentd.client.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalFilesTest {

    @Test
    void aFileWhoseNameIsNearNameMaxIsReplaced(@TempDir Path dir) throws Exception {
        // 255 bytes is Linux's NAME_MAX: ".NAME.agentctl-XXXXXXXX" once made the temporary name too long
        for (String name : List.of("M".repeat(255), "\u00e9".repeat(127), "M".repeat(240))) {
            Path target = dir.resolve(name);
            LocalFiles.replace(target, GuestFiles.permissionsOf(0644), new ByteArrayInputStream("data".getBytes()), null);
            assertEquals("data", Files.readString(target));
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(3, s.count(), "no temporary file left");
        }
    }

    /**
     * Zeros become holes (cp --sparse=auto): a guest's sparse file took its whole length of the
     * host's disk. The bytes read back the same, the length is whole also when it ends in a hole,
     * and the data keeps its blocks.
     */
    @Test
    void runsOfZerosAreWrittenAsHoles(@TempDir Path dir) throws Exception {
        int mib = 1 << 20;
        byte[] data = new byte[16 * mib + 3];
        data[8 * mib] = 'x';
        data[8 * mib + 70_000] = 'y';
        Path target = dir.resolve("sparse");
        long written = LocalFiles.replace(target, GuestFiles.permissionsOf(0644), new ByteArrayInputStream(data), null);

        assertEquals(data.length, written);
        assertEquals(data.length, Files.size(target));
        assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(target)));
        Process stat = new ProcessBuilder("stat", "-c", "%b %B", target.toString()).start();
        String[] blocks = new String(stat.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim().split(" ");
        long allocated = Long.parseLong(blocks[0]) * Long.parseLong(blocks[1]);
        assertTrue(allocated <= 1 * mib, "allocated " + allocated + " bytes of a 16 MiB file of two bytes");
    }

    /**
     * A read-only file (a guest's r--r--r--) is written through the descriptor that created it: the
     * temporary file has its final mode from the start (it was created r--r--r--, then chmod'ed by
     * name to u+w, reopened by name and chmod'ed back, each of which followed a link another user
     * could put at the name), and the write still succeeds.
     */
    @Test
    void aReadOnlyFileIsWrittenThroughTheDescriptorThatCreatedIt(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("ro");
        List<String> seen = new ArrayList<>();
        InputStream in = new InputStream() {
            private final InputStream data = new ByteArrayInputStream("data".getBytes());

            @Override
            public int read() throws IOException {
                throw new UnsupportedOperationException();
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                try (Stream<Path> s = Files.list(dir)) {
                    for (Path p : s.toList()) {
                        seen.add(PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
                    }
                }
                return data.read(b, off, len);
            }
        };
        LocalFiles.replace(target, GuestFiles.permissionsOf(0444), in, null);
        assertEquals("data", Files.readString(target));
        assertFalse(seen.isEmpty());
        for (String mode : seen) {
            assertEquals("r--r--r--", mode, "the temporary file has its final mode while written: " + seen);
        }
        assertEquals("r--r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(target)),
                "the final mode once written");
    }

    /**
     * Another user who can write the directory (0777, not sticky) puts a link to a root-only file at
     * the temporary name once it is made: root's download wrote the guest's bytes into that file
     * (and chmod'ed it), and reported success. Now the link is never followed, and the rename that
     * moved it in place of the download is reported.
     */
    @Test
    void aLinkPutAtTheTemporaryNameIsNeverWrittenThrough(@TempDir Path dir) throws Exception {
        Path victim = dir.resolve("root-only");
        Files.writeString(victim, "secret");
        Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rw-------"));
        Path target = dir.resolve("out");

        IOException e = assertThrows(IOException.class, () -> LocalFiles.replace(target,
                GuestFiles.permissionsOf(0644), new ByteArrayInputStream("guest bytes".getBytes()), null,
                temp -> swap(temp, () -> Files.createSymbolicLink(temp, victim))));

        assertEquals("secret", Files.readString(victim), "the link's target is not written");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(victim)),
                "nor chmod'ed");
        assertTrue(e.getMessage().contains("another file was put at the temporary name"), e.getMessage());
        assertNoTemporaryFileLeft(dir);
    }

    /** A regular file put at the temporary name is not taken for the download either: it is told by its inode. */
    @Test
    void aFilePutAtTheTemporaryNameIsNotTakenForTheDownload(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("out");

        IOException e = assertThrows(IOException.class, () -> LocalFiles.replace(target,
                GuestFiles.permissionsOf(0644), new ByteArrayInputStream("guest bytes".getBytes()), null,
                temp -> swap(temp, () -> Files.writeString(temp, "planted"))));

        assertTrue(e.getMessage().contains("another file was put at the temporary name"), e.getMessage());
        assertNoTemporaryFileLeft(dir);
    }

    private interface FileMaker {
        void make() throws IOException;
    }

    /** Removes the name {@code temp} and makes another file there, as another user could. */
    private static void swap(Path temp, FileMaker other) {
        try {
            Files.delete(temp);
            other.make();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void assertNoTemporaryFileLeft(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> temps = s.filter(p -> p.getFileName().toString().contains(".agentctl-")).toList();
            assertTrue(temps.isEmpty(), "temporary files left: " + temps);
        }
    }

    /**
     * The shutdown hook removes the temporary files being written; one made after it looked would
     * stay when the JVM halts, so none is made once it ran (a download stopped just as it began).
     */
    @Test
    void noTemporaryFileIsMadeOnceTheExitCleanupHasRun(@TempDir Path dir) throws Exception {
        LocalFiles.TempFiles temps = new LocalFiles.TempFiles();
        LocalFiles.TempFile temp = temps.create(ReplaceDir.byPath(dir), "a", GuestFiles.permissionsOf(0600));
        temp.channel().close();
        Path made = temp.path();
        assertTrue(Files.exists(made));
        temps.removeAll();
        assertFalse(Files.exists(made), "removed by the cleanup");
        assertThrows(IOException.class, () -> temps.create(ReplaceDir.byPath(dir), "b", GuestFiles.permissionsOf(0600)));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(0, s.count(), "nothing made after the cleanup");
        }
    }

    @Test
    void theTemporaryNameKeepsAsMuchOfTheNameAsFits() {
        assertEquals(".short.agentctl-0badcafe", LocalFiles.tempName("short", "0badcafe"));
        String cut = LocalFiles.tempName("\u00e9".repeat(127), "0badcafe");
        assertTrue(cut.getBytes(StandardCharsets.UTF_8).length <= 255, cut);
        assertEquals("." + "\u00e9".repeat(118) + ".agentctl-0badcafe", cut, "cut between characters, not inside one");
    }
}
