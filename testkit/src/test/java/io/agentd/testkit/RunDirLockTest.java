package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

    /**
     * The same directory through a symbolic link is the same run directory: refused while the first
     * holds it, and the first's lock survives the refusal. Before, HELD was keyed by the spelling, so
     * the second spelling opened its own channel, and closing it dropped the first VM's lock.
     */
    @Test
    void aRunDirectoryReachedThroughALinkIsTheSameOne(@TempDir Path elsewhere) throws Exception {
        Path link = Files.createSymbolicLink(elsewhere.resolve("link"), runDir);
        try (RunDirLock first = RunDirLock.take(runDir)) {
            GuestVmException e = assertThrows(GuestVmException.class, () -> RunDirLock.take(link));
            assertTrue(e.getMessage().contains("in use by another GuestVm"), e.getMessage());
            assertEquals("held", lockSeenFromAnotherProcess(runDir.resolve(RunDirLock.FILE), elsewhere),
                    "another JVM still finds the first VM's lock");
        }
        RunDirLock.take(link).close();
    }

    /** What another JVM finds when it tries the lock on {@code file}: "held" or "free". */
    private static String lockSeenFromAnotherProcess(Path file, Path scratch) throws Exception {
        Path source = scratch.resolve("TryLock.java");
        Files.writeString(source, "import java.nio.channels.FileChannel;\n"
                + "import java.nio.file.*;\n"
                + "public class TryLock { public static void main(String[] a) throws Exception {\n"
                + "  try (FileChannel c = FileChannel.open(Path.of(a[0]), StandardOpenOption.WRITE)) {\n"
                + "    System.out.print(c.tryLock() == null ? \"held\" : \"free\"); } } }\n");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                source.toString(), file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the other JVM did not end");
        return out.trim();
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

    /**
     * A real QEMU started from the run directory's parent with a relative pid file, as
     * {@code scripts/guest/boot --run-dir run} does: its command line does not hold the directory's
     * absolute path, but it holds its pid file's lock, which says it runs. Before, only the command
     * line was compared, and the kit took the directory and removed the running VM's sockets.
     */
    @Test
    void aQemuWhosePidFileWasNamedRelativelyIsFoundRunning() throws Exception {
        Path qemuBinary = QemuProcesses.find(QemuCommand.DEFAULT_BINARY);
        org.junit.jupiter.api.Assumptions.assumeTrue(qemuBinary != null, "QEMU is not installed");
        Path pidFile = runDir.resolve("qemu.pid");
        Path qemuLog = runDir.resolveSibling(runDir.getFileName() + "-qemu.log"); // beside it: outside the VM's directory
        Process qemu = new ProcessBuilder(qemuBinary.toString(), "-S", "-nodefaults", "-display", "none", "-machine", "none",
                "-pidfile", runDir.getFileName() + "/qemu.pid")
                .directory(runDir.getParent().toFile()).redirectErrorStream(true)
                .redirectOutput(qemuLog.toFile()).start();
        try {
            for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    !Files.exists(pidFile) || Files.readString(pidFile).isBlank(); ) {
                assertTrue(qemu.isAlive() && System.nanoTime() < deadline, "QEMU wrote no pid file");
                Thread.sleep(20);
            }
            GuestVmException e = assertThrows(GuestVmException.class, () -> RunDirLock.take(runDir));
            assertTrue(e.getMessage().contains("still runs (QEMU pid " + qemu.pid() + ")"), e.getMessage());
        } finally {
            qemu.destroyForcibly().waitFor();
            Files.deleteIfExists(qemuLog); // @TempDir removes only its own directory
        }
        RunDirLock.take(runDir).close(); // no QEMU holds it now
    }
}
