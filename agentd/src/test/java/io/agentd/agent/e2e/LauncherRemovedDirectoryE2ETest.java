package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * scripts/agentd started in a working directory that was removed: the JVM cannot start there
 * (getcwd fails), and it printed "Error occurred during initialization of VM" and a Java stack
 * trace. One line now, and 1, the status of a start that failed.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LauncherRemovedDirectoryE2ETest {

    @Test
    void aRemovedWorkingDirectoryIsOneLineNotAStackTrace() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "launcher-cwd").toAbsolutePath();
        Path gone = Files.createDirectory(dir.resolve("gone"));
        Process p = new ProcessBuilder("sh", "-c", "cd \"$1\" && rmdir \"$1\" && exec \"$2\" --listen \"unix:$3\"",
                "sh", gone.toString(), AgentProcess.LAUNCHER.toString(), dir.resolve("agentd.sock").toString())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the launcher still runs");
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, p.exitValue(), err);
        assertTrue(err.contains("agentd: the current directory no longer exists (getcwd failed): start agentd from one"
                + " that does\n"), err);
        assertFalse(err.contains("java.lang"), err);
        Files.delete(dir);
    }
}
