package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.FileSystemException;
import org.junit.jupiter.api.Test;

/**
 * The errno found from a FileSystemException's reason, the strerror text the JDK put there: read
 * back through glibc's own table (native-shim), so each text must come back as its number.
 */
class FsErrorsTest {

    private static int errnoOf(String reason) {
        return FsErrors.errno(new FileSystemException("/f", null, reason));
    }

    @Test
    void aReasonTextIsItsErrno() {
        assertEquals(30, errnoOf("Read-only file system"), "EROFS");
        assertEquals(28, errnoOf("No space left on device"), "ENOSPC");
        assertEquals(122, errnoOf("Disk quota exceeded"), "EDQUOT");
        assertEquals(36, errnoOf("File name too long"), "ENAMETOOLONG");
        assertEquals(18, errnoOf("Invalid cross-device link"), "EXDEV");
        assertEquals(27, errnoOf("File too large"), "EFBIG");
        assertEquals(133, errnoOf("Memory page has hardware error"), "EHWPOISON, the highest");
    }

    @Test
    void theJdksLoopTextIsEloopAndAnUnknownTextIsNone() {
        assertEquals(FsFailure.ELOOP, errnoOf("Too many levels of symbolic links or unable to access attributes of symbolic link"));
        assertEquals(0, errnoOf("Something no libc says"));
    }

    @Test
    void aTypedExceptionNeedsNoText() {
        assertEquals(FsFailure.ENOENT, FsErrors.errno(new java.nio.file.NoSuchFileException("/f")));
    }
}
