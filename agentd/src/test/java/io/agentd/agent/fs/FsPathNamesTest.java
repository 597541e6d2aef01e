package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the names in a request mean. A path that ends with a slash names a directory, as in a
 * system call: "file/" is ENOTDIR, not the file (Path.of drops the slash, and an OpenFile with
 * truncate of "file/" emptied the file, a Remove deleted it). A name past 255 bytes is refused
 * where the kernel would refuse it. FsService with the test thread as its loop and a real worker.
 */
class FsPathNamesTest {
    private final OneConnectionFs fs = new OneConnectionFs(Duration.ofSeconds(10));
    private Path dir;
    private Path file;

    @BeforeEach
    void files() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/fs-names").toAbsolutePath()), "t-");
        file = Files.writeString(dir.resolve("file"), "keep\n");
    }

    @AfterEach
    void stop() {
        fs.close();
    }

    private FsResponse run(FsOp op) throws InterruptedException {
        return fs.run(op);
    }

    private void assertErrno(int errno, FsResponse r) {
        assertFalse(r.ok(), r.toString());
        assertEquals(errno, r.errno(), r.toString());
    }

    @Test
    void aFileNamedWithATrailingSlashIsNotADirectoryAndStaysAsItWas() throws Exception {
        String slashed = file + "/";
        assertErrno(FsFailure.ENOTDIR, run(new FsOp.Stat(slashed, true)));
        assertErrno(FsFailure.EISDIR, run(new FsOp.OpenFile(slashed, FsOpenOptions.replacing(null)))); // open(2)'s answer with O_CREAT
        assertErrno(FsFailure.ENOTDIR, run(new FsOp.OpenFile(slashed, FsOpenOptions.reading())));
        assertErrno(FsFailure.ENOTDIR, run(new FsOp.Remove(slashed)));
        assertErrno(FsFailure.ENOTDIR, run(new FsOp.Rename(slashed, dir.resolve("moved").toString())));
        assertErrno(FsFailure.ENOTDIR, run(new FsOp.Copy(slashed, dir.resolve("copied").toString())));
        assertEquals("keep\n", Files.readString(file), "the file is untouched");
        assertFalse(Files.exists(dir.resolve("moved")) || Files.exists(dir.resolve("copied")));
    }

    @Test
    void aNewNameWithATrailingSlashTakesOnlyADirectory() throws Exception {
        String newName = dir.resolve("new") + "/";
        assertErrno(FsFailure.EISDIR, run(new FsOp.OpenFile(newName, FsOpenOptions.replacing(null))));
        assertErrno(FsFailure.ENOTDIR, run(new FsOp.Rename(file.toString(), newName)));
        assertErrno(FsFailure.ENOTDIR, run(new FsOp.Copy(file.toString(), newName)));
        assertErrno(FsFailure.ENOENT, run(new FsOp.Symlink(file.toString(), newName))); // symlink(2)'s answer
        assertFalse(Files.exists(dir.resolve("new")), "nothing was made under the name");
        assertEquals("keep\n", Files.readString(file));

        assertTrue(run(new FsOp.Mkdir(newName, null)).ok(), "mkdir takes it");
        assertTrue(Files.isDirectory(dir.resolve("new")));
        Path sub = Files.createDirectory(dir.resolve("sub"));
        assertTrue(run(new FsOp.Rename(sub + "/", dir.resolve("renamed") + "/")).ok(), "a directory renamed with slashes");
        assertTrue(Files.isDirectory(dir.resolve("renamed")));
    }

    /**
     * An atomic upload to a name past 255 bytes is ENAMETOOLONG at OpenFile. Its temporary name is cut to fit, so before, it was
     * refused only at CloseHandle, after every byte had been sent.
     */
    @Test
    void anAtomicUploadToANameTooLongIsRefusedAtOpen() throws Exception {
        String tooLong = dir.resolve("n".repeat(256)).toString();
        FsResponse r = run(new FsOp.OpenFile(tooLong, new FsOpenOptions(false, true, false, true, true, false, null, true)));
        assertErrno(FsFailure.ENAMETOOLONG, r);
        assertTrue(run(new FsOp.OpenFile(dir.resolve("n".repeat(255)).toString(),
                new FsOpenOptions(false, true, false, true, true, false, null, true))).ok(), "255 bytes is a name");
    }

    @Test
    void aDirectoryOrALinkToOneIsTakenWithItsSlash() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("d"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), sub);
        assertTrue(run(new FsOp.Stat(sub + "/", false)).ok());
        assertTrue(run(new FsOp.Stat(link + "/", true)).ok());
        assertTrue(run(new FsOp.Stat("/", false)).ok(), "the root");
        assertTrue(run(new FsOp.RemoveDir(sub + "/", false)).ok());
        assertFalse(Files.exists(sub));
    }
}
