package io.agentd.client.cli.cp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostTreeTest {

    @Test
    void aTimeBefore1970IsRoundedDownToItsSecond(@TempDir Path dir) throws Exception {
        Path old = Files.writeString(dir.resolve("old"), "old");
        // 1960-01-01 00:00:00.7 UTC: stat(2) says -315619200 s and 700 ms (rounding toward 0 said -315619199)
        // touch(1): Java 17's setLastModifiedTime makes a time before 1970 0
        Process touch = new ProcessBuilder("touch", "-d", "1960-01-01 00:00:00.7 UTC", old.toString()).start();
        assertEquals(0, touch.waitFor());
        Entry e = new HostTree().lstat(old.toString());
        assertEquals(-315_619_200L, e.mtime());
        Files.setLastModifiedTime(old, FileTime.fromMillis(1_577_934_245_700L));
        assertEquals(1_577_934_245L, new HostTree().lstat(old.toString()).mtime(), "after 1970 as before");
    }

    /**
     * cp -a sets the mode of what it made by name: a link another user put at that name since (a
     * directory both may write) is not followed, and the file it names keeps its mode.
     */
    @Test
    void keptAttributesAreNotSetThroughALinkAtTheName(@TempDir Path dir) throws Exception {
        Path victim = Files.writeString(dir.resolve("victim"), "someone else's");
        Files.setPosixFilePermissions(victim, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Path swapped = Files.createSymbolicLink(dir.resolve("copied"), victim);
        Entry source = new Entry(Entry.Kind.FILE, 14, 0777, 1_577_934_245L, 1_577_934_245L);
        org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> new HostTree().keepAttributes(swapped.toString(), source));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(victim)));
    }

    /**
     * A directory the copy made, swapped for a link before the copy goes into it (a race: the
     * scripted agent of CpDownloadIntoAChangingDirectoryTest is asked nothing between the two):
     * going in fails, naming it, and the link is not followed; Copier reports that as one failed
     * item and copies nothing below it.
     */
    @Test
    void aDirectorySwappedForALinkBeforeItIsEnteredIsNotGoneInto(@TempDir Path root) throws Exception {
        Path outside = Files.createDirectories(root.resolve("outside"));
        Path dst = Files.createDirectories(root.resolve("dst"));
        String d = dst.resolve("d").toString();
        HostTree host = new HostTree();
        try (DestTree.Held into = host.openParentOf(d)) {
            host.mkdir(d, new Entry(Entry.Kind.DIR, 0, 0755, 0, 0));
            Files.move(dst.resolve("d"), dst.resolve("moved-away"));
            Files.createSymbolicLink(dst.resolve("d"), outside);

            CopyFailure refused = org.junit.jupiter.api.Assertions.assertThrows(CopyFailure.class,
                    () -> host.enter(d, false));

            assertEquals("cannot access '" + d + "': it was replaced by a symbolic link while it was copied into"
                    + " (not followed)", refused.getMessage());
        }
    }

    /**
     * What is made by name in a directory held open (mkdir, a link, a mode, times) is made in that
     * directory, by its descriptor, also once its path leads elsewhere: here it was renamed away and
     * a link put in its place.
     */
    @Test
    void whatIsMadeByNameGoesIntoTheDirectoryHeldOpen(@TempDir Path root) throws Exception {
        Path outside = Files.createDirectories(root.resolve("outside"));
        Path dst = Files.createDirectories(root.resolve("dst"));
        Files.createDirectory(dst.resolve("d"));
        String d = dst.resolve("d").toString();
        HostTree host = new HostTree();
        Entry source = new Entry(Entry.Kind.DIR, 0, 01750, 1_577_934_245L, 1_577_934_245L);
        try (DestTree.Held into = host.openParentOf(d); DestTree.Held in = host.enter(d, false)) {
            Files.move(dst.resolve("d"), dst.resolve("moved-away"));
            Files.createSymbolicLink(dst.resolve("d"), outside);

            host.mkdir(d + "/sub", source);
            host.symlink("sub", d + "/link", new Entry(Entry.Kind.LINK, 3, 0777, 0, 0));
            host.keepAttributes(d + "/sub", source);
            host.writeFile(d + "/f", new Entry(Entry.Kind.FILE, 2, 0640, 0, 0), false,
                    new java.io.ByteArrayInputStream("f\n".getBytes()), null);
        }

        try (java.util.stream.Stream<Path> s = Files.list(outside)) {
            assertEquals(0, s.count(), "nothing where the link points");
        }
        Path moved = dst.resolve("moved-away");
        assertEquals(01750, (Integer) Files.getAttribute(moved.resolve("sub"), "unix:mode") & 07777);
        assertEquals(1_577_934_245_000L, Files.getLastModifiedTime(moved.resolve("sub")).toMillis());
        assertEquals(Path.of("sub"), Files.readSymbolicLink(moved.resolve("link")));
        assertEquals("f\n", Files.readString(moved.resolve("f")));
    }
}
