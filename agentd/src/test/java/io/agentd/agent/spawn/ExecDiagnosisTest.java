package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What the failure hint reads of a program that exec said is missing although it is there: its
 * first bytes, and only from a regular file, whatever a command has put at its name since the check.
 */
class ExecDiagnosisTest {
    private Path dir;

    @BeforeEach
    void files() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/exec-diagnosis").toAbsolutePath()), "t-");
    }

    @Test
    void aScriptsHeadIsRead() throws Exception {
        Path script = dir.resolve("script");
        Files.writeString(script, "#!/nonexistent/interpreter -x\necho hi\n");
        byte[] head = ExecDiagnosis.readHead(script);
        assertEquals("#!/nonexistent/interpreter -x\necho hi\n", new String(head, StandardCharsets.UTF_8));
    }

    /**
     * A link to a device put at the program's name is not opened (the agent is root; opening a
     * watchdog arms it): before, the open went through and /dev/zero gave its zeros.
     */
    @Test
    void aLinkToADeviceIsNotOpened() throws Exception {
        Path link = dir.resolve("swapped");
        Files.createSymbolicLink(link, Path.of("/dev/zero"));
        assertArrayEquals(new byte[0], ExecDiagnosis.readHead(link), "read nothing from the device");
    }

    @Test
    @Timeout(10)
    void aFifoIsNeitherWaitedOnNorRead() throws Exception {
        Path fifo = dir.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        byte[] head = ExecDiagnosis.readHead(fifo);
        assertEquals("[]", Arrays.toString(head));
    }
}
