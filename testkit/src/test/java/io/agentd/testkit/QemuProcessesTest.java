package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
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

    /**
     * A QEMU in D state outlives SIGKILL until the kernel lets it go, perhaps never; the wait for it had
     * no bound. Such a process cannot be made without root and a device that hangs: a real process
     * stands in, behind a Process whose SIGKILL is lost (as the kernel holds it back). The wait ends
     * after the bound, and what is logged names the pid and its state.
     */
    @Test
    void aProcessThatOutlivesSigkillIsWaitedForNoLongerThanTheBound() throws Exception {
        Process real = new ProcessBuilder("sleep", "600").start();
        try {
            Duration bound = Duration.ofMillis(300);
            long start = System.nanoTime();
            boolean ended = assertTimeoutPreemptively(Duration.ofSeconds(10),
                    () -> QemuProcesses.kill(new KillLost(real), bound), "the wait for a process SIGKILL did not end");
            assertFalse(ended);
            assertTrue(System.nanoTime() - start >= bound.toNanos(), "gave up before the bound");
            assertTrue(real.isAlive());
            String said = QemuProcesses.stillRunning(real.pid(), bound);
            assertTrue(said.startsWith("QEMU (pid " + real.pid() + ") did not end within 300ms of SIGKILL, in state S (sleeping);"),
                    said);
        } finally {
            real.destroyForcibly().waitFor();
        }
    }

    @Test
    void aProcessThatSigkillEndsIsWaitedFor() throws Exception {
        Process process = new ProcessBuilder("sleep", "600").start();
        assertTrue(QemuProcesses.kill(process));
        assertFalse(process.isAlive());
        assertTrue(QemuProcesses.stillRunning(process.pid(), Duration.ofSeconds(1)).contains("in state unknown;"),
                "a reaped process has no /proc entry");
    }

    /** {@code real}, except that destroying it does nothing: a process in uninterruptible sleep. */
    private static final class KillLost extends Process {
        private final Process real;

        KillLost(Process real) {
            this.real = real;
        }

        @Override
        public void destroy() {
        }

        @Override
        public Process destroyForcibly() {
            return this;
        }

        @Override
        public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
            return real.waitFor(timeout, unit);
        }

        @Override
        public int waitFor() throws InterruptedException {
            return real.waitFor();
        }

        @Override
        public int exitValue() {
            return real.exitValue();
        }

        @Override
        public boolean isAlive() {
            return real.isAlive();
        }

        @Override
        public long pid() {
            return real.pid();
        }

        @Override
        public OutputStream getOutputStream() {
            return real.getOutputStream();
        }

        @Override
        public InputStream getInputStream() {
            return real.getInputStream();
        }

        @Override
        public InputStream getErrorStream() {
            return real.getErrorStream();
        }
    }
}
