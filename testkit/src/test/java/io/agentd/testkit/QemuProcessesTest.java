package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Starting QEMU's process, with a harmless program in its place: no QEMU, no image. */
class QemuProcessesTest {
    @TempDir
    Path tmp;

    @Test
    void aStartInterruptedWhileTheLauncherStartsTheProcessLeavesNothingRunning() throws Exception {
        String marker = "987.654321"; // sleep's argument: how this test's process is told from any other
        Thread.currentThread().interrupt(); // as a @Timeout or a cancelled boot does
        assertThrows(InterruptedException.class, () -> QemuProcesses.start(List.of("sleep", marker), tmp.resolve("out")));
        // The launcher thread starts the process whether or not the caller still waits for it.
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline) {
            List<ProcessHandle> left = ProcessHandle.current().children()
                    .filter(p -> ProcessAlive.cmdline(p.pid()).contains(marker) && ProcessAlive.of(p.pid())).toList();
            if (!left.isEmpty()) {
                left.forEach(ProcessHandle::destroyForcibly);
                assertTrue(false, "the interrupted start left " + ProcessAlive.cmdline(left.get(0).pid()) + " running");
            }
            Thread.sleep(50);
        }
    }
}
