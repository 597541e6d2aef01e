package io.agentd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class BoundedReadTest {
    private static final Duration LIMIT = Duration.ofSeconds(1);

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void aChildThatNeverEndsIsKilledAtTheDeadline() throws Exception {
        Process p = new ProcessBuilder("sleep", "600").start();

        IOException e = assertThrows(IOException.class, () -> BoundedRead.readAll(p, LIMIT, "sleep 600"));

        assertEquals("sleep 600 did not finish in 1 s: killed", e.getMessage());
        assertTrue(p.waitFor(5, TimeUnit.SECONDS), "sleep still runs");
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void aChildWhoseOwnChildKeepsThePipeFailsAtTheDeadlineInsteadOfHanging(@TempDir Path tmp) throws Exception {
        Path orphan = tmp.resolve("orphan.pid");
        // sh exits once the read is under way: had it exited first, the JDK would have swapped the pipe
        // for what it held, and the read would end without the orphan's help
        Process p = new ProcessBuilder("sh", "-c", "sleep 600 & echo $! > \"$0\"; sleep 0.3", orphan.toString())
                .start();
        try {
            IOException e = assertThrows(IOException.class, () -> BoundedRead.readAll(p, LIMIT, "sh"));

            assertEquals("sh exited but its output was still open after 1 s (a child of its own holds it)",
                    e.getMessage());
            assertFalse(p.isAlive());
        } finally {
            // the orphan is pid 1's now: nothing of the helper's can reach it
            ProcessHandle.of(Long.parseLong(Files.readString(orphan).strip())).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void aChildThatEndsGivesItsWholeOutputAndItsExitStatus() throws Exception {
        Process p = new ProcessBuilder("sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; exit 3").start();

        BoundedRead.Output out = BoundedRead.readAll(p, Duration.ofSeconds(10), "sh");

        assertEquals("x".repeat(100_000), new String(out.stdout(), StandardCharsets.US_ASCII));
        assertEquals(3, out.exitCode());
    }
}
