package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run directory is one VM's at a time: a second GuestVm on it is refused before it removes the
 * first one's sockets, and so is one where a QEMU booted from it still runs (boot --detach).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RunDirLockTest {
    @TempDir
    Path runDir;

    @Test
    void aSecondVmOnTheSameRunDirectoryIsRefusedUntilTheFirstIsClosed() throws Exception {
        try (RunDirLock first = RunDirLock.take(runDir)) {
            GuestVmException e = assertThrows(GuestVmException.class, () -> RunDirLock.take(runDir));
            assertTrue(e.getMessage().contains("is in use by another GuestVm"), e.getMessage());
        }
        RunDirLock.take(runDir).close(); // free again
    }

    @Test
    void aRunDirectoryWhoseQemuStillRunsIsRefused() throws Exception {
        // A process whose command line names the directory's pid file, as the QEMU boot --detach started there.
        Process qemu = new ProcessBuilder("bash", "-c", "exec -a \"qemu-system-x86_64 -pidfile "
                + runDir.toAbsolutePath().resolve("qemu.pid") + "\" sleep 60").start();
        try {
            Files.writeString(runDir.resolve("qemu.pid"), qemu.pid() + "\n");
            for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    !Files.readString(Path.of("/proc", String.valueOf(qemu.pid()), "cmdline")).startsWith("qemu"); ) {
                assertTrue(System.nanoTime() < deadline, "the stand-in never took its name");
                Thread.sleep(10);
            }
            GuestVmException e = assertThrows(GuestVmException.class, () -> RunDirLock.take(runDir));
            assertTrue(e.getMessage().contains("still runs (QEMU pid " + qemu.pid() + ")"), e.getMessage());
        } finally {
            qemu.destroyForcibly().waitFor();
        }
        RunDirLock.take(runDir).close(); // its pid file names no QEMU now
    }
}
