package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
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

    /** The mount on top at the longest mount point over the file decides; octal escapes undone. */
    @Test
    void theNoexecMountIsTheOneOnTopAtTheLongestPrefix() {
        List<String> mountinfo = List.of(
                "22 1 0:21 / / rw,relatime - ext4 /dev/vda rw",
                "30 22 0:30 / /tmp rw,nosuid,nodev,noexec - tmpfs tmpfs rw",
                "31 30 0:31 / /tmp/ok rw - tmpfs tmpfs rw",
                "32 22 0:32 / /my\\040dir rw,noexec - tmpfs tmpfs rw",
                "33 22 0:33 / /srv rw,noexec - tmpfs tmpfs rw",
                "34 33 0:34 / /srv rw - tmpfs tmpfs rw");
        assertEquals("/tmp", ExecDiagnosis.noexecMountOf(Path.of("/tmp/a/prog"), mountinfo));
        assertNull(ExecDiagnosis.noexecMountOf(Path.of("/tmp/ok/prog"), mountinfo));
        assertNull(ExecDiagnosis.noexecMountOf(Path.of("/tmpx/prog"), mountinfo), "a prefix of the name, not of the path");
        assertEquals("/my dir", ExecDiagnosis.noexecMountOf(Path.of("/my dir/prog"), mountinfo));
        assertNull(ExecDiagnosis.noexecMountOf(Path.of("/srv/prog"), mountinfo), "mounted over without noexec");
        assertNull(ExecDiagnosis.noexecMountOf(Path.of("/usr/bin/true"), mountinfo));
    }
}
