package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JVM that boots a guest is killed with SIGKILL (no shutdown hook runs): its QEMU must end too.
 * Starts a real QEMU on the guest image (skipped without one) but kills it long before the guest is up.
 */
class QemuDiesWithTheJvmTest {
    @TempDir
    Path tmp;

    /** The JVM that is killed: boots a guest into the run directory given, then waits. */
    public static final class BootingJvm {
        public static void main(String[] args) throws Exception {
            GuestVm.builder().runDir(Path.of(args[0])).bootTimeout(Duration.ofMinutes(10)).boot();
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    @Test
    void qemuEndsWhenItsJvmIsKilled() throws Exception {
        Assumptions.assumeTrue(GuestImage.exists(GuestImage.defaultDir()),
                "no guest image at " + GuestImage.defaultDir() + ": build one with scripts/guest/build-image (as root)");
        Path run = tmp.resolve("run");
        Path pidFile = run.resolve("qemu.pid");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process jvm = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
                "-D" + GuestImage.DIR_PROPERTY + "=" + GuestImage.defaultDir(), "-D" + Accel.PROPERTY + "=tcg",
                BootingJvm.class.getName(), run.toString()))
                .redirectErrorStream(true).redirectOutput(tmp.resolve("jvm.log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        long qemu;
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!(Files.exists(pidFile) && !Files.readString(pidFile).isBlank())) {
                assertTrue(jvm.isAlive(), "the booting JVM ended: " + Files.readString(tmp.resolve("jvm.log")));
                assertTrue(System.nanoTime() < deadline, "QEMU did not write " + pidFile + " within 60 s");
                Thread.sleep(50);
            }
            qemu = Long.parseLong(Files.readString(pidFile).strip());
            assertTrue(ProcessAlive.cmdline(qemu).contains(QemuCommand.DEFAULT_BINARY),
                    "pid " + qemu + " is QEMU: " + ProcessAlive.cmdline(qemu));
            Thread.sleep(2000); // a QEMU that ends by itself (a bad accelerator, say) would prove nothing
            assertTrue(ProcessAlive.of(qemu), "QEMU ended before its JVM was killed: " + Files.readString(run.resolve("qemu.log")));
        } finally {
            jvm.destroyForcibly(); // SIGKILL
            jvm.waitFor();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (ProcessAlive.of(qemu) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        boolean survived = ProcessAlive.of(qemu);
        if (survived) {
            new ProcessBuilder("kill", "-KILL", Long.toString(qemu)).start().waitFor(); // leave nothing running
        }
        assertFalse(survived, "QEMU " + qemu + " still ran 20 s after its JVM was killed");
    }
}
