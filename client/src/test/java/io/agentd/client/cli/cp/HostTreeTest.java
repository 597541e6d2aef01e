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
}
