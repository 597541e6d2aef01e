package io.agentd.testkit;

import static io.agentd.testkit.GuestImageTest.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@link GuestVm.Builder#boot} refuses before a guest runs: no image needed, no VM booted. */
class GuestVmTest {
    @TempDir
    Path tmp;

    @Test
    void qemuMissingSaysWhichPackageHasIt() throws IOException {
        Path image = FakeImage.create(tmp.resolve("img"));
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image)
                .runDir(tmp.resolve("run")).qemuBinary("qemu-system-x86_64-not-installed").boot());
        assertContains(e, "qemu-system-x86_64-not-installed was not found on PATH");
        assertContains(e, "apt-get install qemu-system-x86");
        assertFalse(Files.exists(tmp.resolve("run")), "no run directory is made for a VM that cannot start");
    }

    @Test
    void aQemuPathThatIsNotAProgramIsNamedAsSuch() throws IOException {
        Path image = FakeImage.create(tmp.resolve("img"));
        Path notAProgram = Files.writeString(tmp.resolve("qemu-system-x86_64"), "not executable");
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image)
                .runDir(tmp.resolve("run")).qemuBinary(notAProgram.toString()).boot());
        assertContains(e, notAProgram + " is not an executable file");
    }

    @Test
    void aRunDirectoryTooDeepForAUnixSocketIsRefused() throws IOException {
        Path image = FakeImage.create(tmp.resolve("img"));
        Path deep = tmp.resolve("d".repeat(60)).resolve("e".repeat(60));
        GuestVmException e = assertThrows(GuestVmException.class,
                () -> GuestVm.builder().image(image).runDir(deep).boot());
        assertContains(e, "the run directory " + deep + " is too deep");
    }

    @Test
    void aKernelQemuCannotBootEndsTheBootAtOnceWithWhatQemuSaid() throws Exception {
        Assumptions.assumeTrue(QemuProcesses.find(QemuCommand.DEFAULT_BINARY) != null, "QEMU is not installed");
        // Passes the image checks (a bzImage header magic), but QEMU refuses it.
        Path image = FakeImage.create(tmp.resolve("img"));
        Path run = tmp.resolve("run");
        long start = System.nanoTime();
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image).runDir(run)
                .accel(Accel.TCG).bootTimeout(Duration.ofMinutes(2)).boot());
        assertContains(e, "QEMU exited with status");
        assertContains(e, "--- QEMU (" + run.resolve("qemu.log") + "):\n" + Files.readString(run.resolve("qemu.log")).strip());
        assertTrue(System.nanoTime() - start < Duration.ofMinutes(1).toNanos(), "waited for the boot timeout: " + e);
    }

    @Test
    void aBootThatStopsBeforeInitSaysItStoppedInTheKernel() throws Exception {
        Path image = FakeImage.create(tmp.resolve("img"));
        // A QEMU whose guest hangs in the kernel: the firmware's lines (and escape codes) on the console, then nothing.
        Path kernelHangs = FakeQemu.create(tmp, "kernel-hangs", "printf '\\033[0mSeaBIOS\\r\\nBooting from ROM...\\r\\n\\033c' > \"$console\"; exec sleep 60");
        GuestVmException hung = assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image)
                .runDir(tmp.resolve("run1")).qemuBinary(kernelHangs.toString()).accel(Accel.TCG)
                .bootTimeout(Duration.ofSeconds(2)).boot());
        assertContains(hung, "the agent was not ready within 2s");
        assertContains(hung, "the guest never reached user space (no 'init:' line on its console): it stopped in the kernel");

        // One whose init ran (its first line follows the firmware's escape codes on the same line): no such hint.
        Path initRan = FakeQemu.create(tmp, "init-ran", "printf 'Booting from ROM...\\r\\n\\033c\\033[2Jinit: started (uptime 1.50s)\\r\\n' > \"$console\"; exec sleep 60");
        GuestVmException late = assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image)
                .runDir(tmp.resolve("run2")).qemuBinary(initRan.toString()).accel(Accel.TCG)
                .bootTimeout(Duration.ofSeconds(2)).boot());
        assertContains(late, "the agent was not ready within 2s");
        assertFalse(late.getMessage().contains("user space"), late.getMessage());
    }

    /**
     * Before, the kit refused every kernel argument with whitespace, though the guest's init reads
     * NAME="VALUE" as the one parameter NAME=VALUE, as the kernel does: no value with a space could be
     * given. Now such a value goes to QEMU's -append in double quotes; one without stays as it was.
     */
    @Test
    void aKernelArgumentWithSpacesInItsValueReachesQemuWithTheValueInQuotes() throws Exception {
        Path image = FakeImage.create(tmp.resolve("img"));
        Path append = tmp.resolve("append");
        Path qemu = FakeQemu.create(tmp, "qemu-append", "while [ $# -gt 0 ]; do if [ \"$1\" = -append ]; then"
                + " printf '%s\\n' \"$2\" > '" + append + "'; fi; shift; done; exec sleep 60");
        assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image).runDir(tmp.resolve("run"))
                .qemuBinary(qemu.toString()).accel(Accel.TCG).bootTimeout(Duration.ofSeconds(2))
                .kernelArgs("agentd.env=GREETING=hello  world", "agentd.profile=strict").boot());
        assertEquals(String.join(" ", QemuCommand.BASE_KERNEL_ARGS)
                + " agentd.env=\"GREETING=hello  world\" agentd.profile=strict", Files.readString(append).strip());
    }

    /** What one kernel parameter cannot carry is refused, saying why. */
    @Test
    void kernelArgumentsThatCannotBeOneParameterAreRefused() {
        assertContains(assertThrows(IllegalArgumentException.class,
                () -> GuestVm.builder().kernelArgs("quiet agentd.profile=strict")), "pass each parameter as an argument of its own");
        assertContains(assertThrows(IllegalArgumentException.class, () -> GuestVm.builder().kernelArgs(" ")), "blank");
        assertContains(assertThrows(IllegalArgumentException.class,
                () -> GuestVm.builder().kernelArgs("agentd.env=A=\"b c\"")), "cannot hold a double quote, newline or NUL");
        assertContains(assertThrows(IllegalArgumentException.class,
                () -> GuestVm.builder().kernelArgs("agentd.env=A=b\nc")), "by lines, a NUL ends it): agentd.env=A=b\\nc");
        assertThrows(IllegalArgumentException.class, () -> GuestVm.builder().vcpus(0));
        assertThrows(IllegalArgumentException.class, () -> GuestVm.builder().bootTimeout(Duration.ZERO));
    }

    /**
     * A guest that panicked: the kernel's trace can run past the quoted 40 lines (it reboots at once,
     * the trace last), and the panic's own line, its reason, was then not quoted at all (seen in CI:
     * GuestVmBootTest's panic found only stack frames). The quote now starts at that line.
     */
    @Test
    void theConsoleQuoteKeepsAPanicsReasonPastItsLast40Lines() throws IOException {
        Path console = tmp.resolve("console.log");
        StringBuilder text = new StringBuilder("booting\n[    6.35] Kernel panic - not syncing: sysrq triggered crash\n");
        for (int i = 0; i < 55; i++) {
            text.append("[    6.36]  frame_").append(i).append("+0x10/0x20\n");
        }
        Files.writeString(console, text);
        String quote = ConsoleEnd.quote(console);
        assertTrue(quote.startsWith("--- console, last 56 lines (" + console + "):\n[    6.35] Kernel panic - not syncing"),
                quote);
        assertTrue(quote.endsWith("frame_54+0x10/0x20"), quote);

        StringBuilder plain = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            plain.append("line ").append(i).append('\n');
        }
        Files.writeString(console, plain);
        String tail = ConsoleEnd.quote(console);
        assertTrue(tail.startsWith("--- console, last 40 lines (" + console + "):\nline 60\n"), tail);
    }
}
