package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The old file's owner and mode go onto the temporary file the upload has open, whatever its name has come to mean. */
class FsReplacedFileTest {
    private Path dir;

    @BeforeEach
    void files() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/fs-replaced").toAbsolutePath()), "t-");
    }

    /**
     * A guest user who may write in the destination's directory swaps the temporary name for a link
     * to another file between the upload's create and its chmod: that file keeps its mode, and the
     * file the upload has open gets the old file's. Before the fix the mode was set by the name, and
     * chmod(2) followed the link (a root upload gave the link's target the old file's owner and mode).
     */
    @Test
    void theModeGoesToTheOpenFileNotToALinkPutInPlaceOfItsName() throws Exception {
        Path sentinel = dir.resolve("sentinel");
        Files.writeString(sentinel, "not the upload's");
        Files.setPosixFilePermissions(sentinel, PosixFilePermissions.fromString("rw-------"));
        Path old = dir.resolve("old");
        Files.writeString(old, "old");
        Files.setPosixFilePermissions(old, PosixFilePermissions.fromString("rwxr-xr--"));
        FsReplacedFile replaced = FsReplacedFile.at(old);

        Path temp = dir.resolve(".old.agentd-0000000000000001");
        try (FileChannel ch = FileChannel.open(temp, Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            Path movedAway = dir.resolve("moved-away");
            Files.move(temp, movedAway);
            Files.createSymbolicLink(temp, sentinel);

            replaced.applyTo(ch);

            assertEquals("rw-------", mode(sentinel), "the link's target is left alone");
            assertEquals("rwxr-xr--", mode(movedAway), "the upload's own file has the old file's mode");
            assertEquals(Files.getAttribute(old, "unix:uid"), Files.getAttribute(movedAway, "unix:uid"));
            assertEquals(Files.getAttribute(old, "unix:gid"), Files.getAttribute(movedAway, "unix:gid"));
        }
    }

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }
}
