package io.agentd.testkit;

import static io.agentd.testkit.GuestImageTest.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boots whose guest hangs before its agent starts ({@link HungBootCheck}): what counts as hung, read
 * from a real console file, and GuestVm trying such a boot again, with a script in QEMU's place that
 * writes what a hung guest's console shows. No VM is booted (GuestVmBootTest boots one after a hung try).
 */
class HungBootTest {
    /** What the console of the boot CI failed on showed (2026-12-04), firmware escapes included. */
    static final String LOCKED_UP = "\u001bc\u001b[?7l\u001b[2JSeaBIOS (version 1.16.2-debian-1.16.2-1)\n"
            + "Booting from ROM..\u001bcinit: started (uptime 1.88s)\n"
            + "init: virtio port agent is /dev/vport0p1 (uptime 2.27s)\n"
            + "[   23.349107] rcu: INFO: rcu_preempt self-detected stall on CPU\n"
            + "[   48.408838] watchdog: BUG: soft lockup - CPU#1 stuck for 45s! [init:126]\n";

    @TempDir
    Path tmp;

    @Test
    void aConsoleWithoutInitCountsAsHungOnlyAfterTheDeadline() throws Exception {
        Path file = tmp.resolve("console.log");
        Files.writeString(file, "SeaBIOS (version 1.16.2-debian-1.16.2-1)\n[    0.98] acpi PNP0A03:00: fail to add MMCONFIG\n");
        AtomicLong now = new AtomicLong(0);
        HungBootCheck check = new HungBootCheck(new ConsoleLog(file), 0, Duration.ofSeconds(60), now::get);
        now.set(TimeUnit.SECONDS.toNanos(60));
        assertNull(check.get(), "60 s is still within the deadline");
        now.set(TimeUnit.SECONDS.toNanos(61));
        assertEquals("no 'init:' line on its console within 60s of QEMU's start (it stopped in the firmware or the kernel)",
                check.get());

        // init's line after the firmware's escape codes, on the same line: user space was reached.
        Files.writeString(file, "\u001bcBooting from ROM..\u001bcinit: started (uptime 1.88s)\n");
        HungBootCheck reached = new HungBootCheck(new ConsoleLog(file), 0, Duration.ofSeconds(60), now::get);
        assertNull(reached.get());
    }

    @Test
    void aSoftLockupCountsFromFortySeconds() throws Exception {
        Path file = tmp.resolve("console.log");
        AtomicLong now = new AtomicLong(0);
        HungBootCheck check = new HungBootCheck(new ConsoleLog(file), 0, Duration.ofSeconds(60), now::get);
        // A loaded host's one passing report, and the RCU stall report that comes first in a hang.
        Files.writeString(file, "init: started (uptime 1.88s)\n[   23.3] rcu: INFO: rcu_preempt self-detected stall on CPU\n"
                + "[   26.4] watchdog: BUG: soft lockup - CPU#0 stuck for 39s! [java:140]\n");
        assertNull(check.get());
        Files.writeString(file, LOCKED_UP);
        assertEquals("its kernel reports a CPU stuck in it: [   48.408838] watchdog: BUG: soft lockup - CPU#1 stuck for 45s! [init:126]",
                check.get());
        // A number longer than the kernel prints (it counts seconds in an int) is no report, and no parse failure.
        Files.writeString(file, "init: started\nwatchdog: BUG: soft lockup - CPU#1 stuck for 99999999999s! [init:1]\n");
        assertTrue(new ConsoleLog(file).softLockup(40).isEmpty(), "more than 9 digits is no report the kernel prints");
    }

    @Test
    void theDeadlineForInitGrowsWithTheBootTimeout() {
        assertEquals(Duration.ofSeconds(60), GuestVm.builder().userSpaceWithin(), "180 s: the floor of a minute");
        assertEquals(Duration.ofSeconds(60), GuestVm.builder().bootTimeout(Duration.ofSeconds(30)).userSpaceWithin());
        assertEquals(Duration.ofSeconds(200), GuestVm.builder().bootTimeout(Duration.ofMinutes(10)).userSpaceWithin(),
                "a third of a long timeout: a slow host's boot is no hang");
        assertEquals(Duration.ofSeconds(2), GuestVm.builder().userSpaceWithin(Duration.ofSeconds(2))
                .bootTimeout(Duration.ofMinutes(10)).userSpaceWithin());
    }

    @Test
    void aBootThatHangsIsTriedThreeTimesAndKeepsEachHungConsole() throws Exception {
        Path image = FakeImage.create(tmp.resolve("img"));
        Path hangs = FakeQemu.create(tmp, "hangs", "printf '%s' '" + LOCKED_UP.replace("'", "") + "' > \"$console\"; exec sleep 600");
        Path run = tmp.resolve("run");
        Files.createDirectories(run);
        Files.writeString(run.resolve("console-hung-4.log"), "an earlier boot's"); // a reused run directory
        long start = System.nanoTime();
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image).runDir(run)
                .qemuBinary(hangs.toString()).accel(Accel.TCG).bootTimeout(Duration.ofSeconds(120)).boot());
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(60), "each hung try ended at its lockup report");
        assertContains(e, "TCG) did not boot: the guest hung before its agent started, in try 3 of 3: its kernel reports a CPU stuck"
                + " in it: [   48.408838] watchdog: BUG: soft lockup - CPU#1 stuck for 45s! [init:126] (QEMU was killed)");
        String lockup = "its kernel reports a CPU stuck in it: [   48.408838] watchdog: BUG: soft lockup - CPU#1 stuck for 45s! [init:126]";
        assertContains(e, "\n--- the boot's earlier tries hung before their agent started (each QEMU was killed):\n"
                + "try 1: " + lockup + "; its console is " + run.resolve("console-hung-1.log") + "\n"
                + "try 2: " + lockup + "; its console is " + run.resolve("console-hung-2.log"));
        assertContains(e, "soft lockup - CPU#1 stuck for 45s!"); // the console's quote
        for (int n = 1; n <= 2; n++) {
            assertTrue(Files.readString(run.resolve("console-hung-" + n + ".log")).contains("stuck for 45s"), "try " + n);
        }
        assertFalse(Files.exists(run.resolve("console-hung-3.log")), "the last try's console stays console.log");
        assertFalse(Files.exists(run.resolve("console-hung-4.log")), "an earlier boot's hung console was left to confuse");
    }

    @Test
    void aBootThatNeverReachesUserSpaceIsTriedAgainAndAnotherFailureEndsTheTries() throws Exception {
        Path image = FakeImage.create(tmp.resolve("img"));
        // First try: QEMU runs and the console stays empty. Second: QEMU fails (a fresh QEMU was started).
        Path tries = tmp.resolve("tries");
        Path silentThenFails = FakeQemu.create(tmp, "silent-then-fails", "if [ -e '" + tries + "' ]; then"
                + " echo 'qemu-system-x86_64: second try fails'; exit 1; fi; : > '" + tries + "'; exec sleep 600");
        Path run = tmp.resolve("run");
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image).runDir(run)
                .qemuBinary(silentThenFails.toString()).accel(Accel.TCG).userSpaceWithin(Duration.ofSeconds(2))
                .bootTimeout(Duration.ofSeconds(120)).boot());
        assertContains(e, "TCG) did not boot: QEMU exited with status 1 before the agent was ready");
        assertContains(e, "second try fails");
        assertContains(e, "\n--- the boot's earlier tries hung before their agent started (each QEMU was killed):\n"
                + "try 1: no 'init:' line on its console within 2s of QEMU's start (it stopped in the firmware or the kernel);"
                + " its console is " + run.resolve("console-hung-1.log"));
        assertTrue(Files.exists(run.resolve("console-hung-1.log")), "the hung try's console was kept");
        assertFalse(Files.exists(run.resolve("console-hung-2.log")));
    }

    /**
     * A kernel that says it cannot go on (a panic, an oops, an initramfs it could not unpack) ends the
     * boot at once, with its line, and no try is made again: a truncated initramfs waited out three
     * tries of the hang check, 3 minutes, and was reported as a hang (a review of the kit).
     */
    @Test
    void aKernelThatCannotGoOnEndsTheBootAtOnceWithoutAnotherTry() throws Exception {
        Path image = FakeImage.create(tmp.resolve("img"));
        Path panics = FakeQemu.create(tmp, "panics", "printf '%s\\n%s\\n' '[    0.912345] Initramfs unpacking failed: write error'"
                + " '[    1.000000] Kernel panic - not syncing: no working init found' > \"$console\"; exec sleep 600");
        Path run = tmp.resolve("run");
        long start = System.nanoTime();
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image).runDir(run)
                .qemuBinary(panics.toString()).accel(Accel.TCG).bootTimeout(Duration.ofSeconds(120)).boot());
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(30), "ended at the kernel's line");
        assertContains(e, "TCG) did not boot: its kernel cannot go on: [    0.912345] Initramfs unpacking failed: write error"
                + " (QEMU was killed; not tried again");
        assertFalse(Files.exists(run.resolve("console-hung-1.log")), "no other try");
    }

    @Test
    void aSoftLockupIsNoKernelFailure() throws Exception {
        Path file = tmp.resolve("console.log");
        Files.writeString(file, LOCKED_UP + "\n");
        assertTrue(new ConsoleLog(file).kernelFailure().isEmpty());
        Files.writeString(file, "[    2.1] BUG: kernel NULL pointer dereference, address: 0000000000000000\n", java.nio.file.StandardOpenOption.APPEND);
        assertEquals("[    2.1] BUG: kernel NULL pointer dereference, address: 0000000000000000",
                new ConsoleLog(file).kernelFailure().orElseThrow());
    }
}
