package io.agentd.testkit;

import static io.agentd.testkit.GuestImageTest.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AUTO's KVM trial, with a script in QEMU's place: only QEMU refusing KVM may send the boot (and the
 * rest of the JVM) to TCG, not a guest that ended at once for reasons of its own. No VM is booted.
 */
class KvmTrialTest {
    @TempDir
    Path tmp;

    /** The warning quotes why KVM failed, not the register dump QEMU prints after it (a review of the kit). */
    @Test
    void theKvmFailureQuotedIsItsCauseNotTheRegisterDump() {
        String qemuSaid = "KVM internal error. Suberror: 1\nemulation failure\n"
                + "EAX=00000000 EBX=00000000 ECX=00000000 EDX=00000663\n"
                + "DR6=00000000ffff0ff0 DR7=0000000000000400\nCode=24 5b 80 <00> 00\n";
        assertEquals("KVM internal error. Suberror: 1", GuestBoot.kvmCause(qemuSaid));
        assertEquals("qemu-system-x86_64: failed to initialize kvm: Permission denied",
                GuestBoot.kvmCause("qemu-system-x86_64: failed to initialize kvm: Permission denied\n"));
        assertEquals("a b c", GuestBoot.kvmCause("z\na\nb\nc"), "without a line naming KVM, the last three");
    }

    @Test
    void aGuestThatEndsAtOnceUnderKvmIsNotTakenForABrokenKvm() throws Exception {
        // A VM test before this one in the JVM may have found KVM unusable (as here: nested virtualization).
        boolean failedBefore = Accel.kvmFailed();
        Accel.setKvmFailed(false);
        try {
            Assumptions.assumeTrue(Accel.firstChoice() == Accel.KVM, "AUTO would not try KVM here: /dev/kvm does not open");
            trial();
        } finally {
            Accel.setKvmFailed(failedBefore);
        }
    }

    private void trial() throws Exception {
        Path image = FakeImage.create(tmp.resolve("img"));
        // What QEMU does when the guest panics or powers off at once (-no-reboot): exit 0, nothing printed.
        Path guestEnds = FakeQemu.create(tmp, "guest-ends", "exit 0");
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image)
                .runDir(tmp.resolve("run1")).qemuBinary(guestEnds.toString()).accel(Accel.AUTO).boot());
        assertContains(e, "KVM) did not boot: QEMU exited with status 0");
        assertEquals(Accel.KVM, Accel.firstChoice(), "KVM was marked failed by a guest that ended by itself");

        // RHEL's and Fedora's QEMU is called qemu-kvm, and says so at the start of every message: a
        // failure that has nothing to do with KVM is no KVM failure.
        Path qemuKvm = FakeQemu.create(tmp, "qemu-kvm", "echo 'qemu-kvm: -M pc: unsupported machine type'; exit 1");
        GuestVmException notKvm = assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image)
                .runDir(tmp.resolve("run1b")).qemuBinary(qemuKvm.toString()).accel(Accel.AUTO).boot());
        assertContains(notKvm, "KVM) did not boot: QEMU exited with status 1");
        assertEquals(Accel.KVM, Accel.firstChoice(), "KVM was marked failed by a message of a program named qemu-kvm");

        // QEMU refusing KVM (as on a nested host: "failed to initialize kvm") still falls back to TCG.
        Path kvmRefused = FakeQemu.create(tmp, "kvm-refused", "case \"$*\" in *'-accel kvm'*)"
                + " echo 'qemu-system-x86_64: -accel kvm: failed to initialize kvm: Inappropriate ioctl for device'; exit 1;; esac;"
                + " echo 'qemu-system-x86_64: linux kernel too old'; exit 1");
        GuestVmException tcg = assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image)
                .runDir(tmp.resolve("run2")).qemuBinary(kvmRefused.toString()).accel(Accel.AUTO).boot());
        assertContains(tcg, "TCG) did not boot: QEMU exited with status 1");
        assertEquals(Accel.TCG, Accel.firstChoice());

        // KVM that stops the guest and leaves QEMU waiting (seen on a nested host: "KVM internal error.
        // Suberror: 1 ... emulation failure"): the boot waited its whole timeout (180 s) under KVM.
        Accel.setKvmFailed(false);
        // What QEMU printed on such a machine: the error line, then a register dump of 30 lines.
        Path said = Path.of(getClass().getResource("/kvm-internal-error.log").toURI());
        Path kvmStops = FakeQemu.create(tmp, "kvm-stops", "case \"$*\" in *'-accel kvm'*)"
                + " cat '" + said + "'; exec sleep 600;; esac;"
                + " echo 'qemu-system-x86_64: linux kernel too old'; exit 1");
        long start = System.nanoTime();
        GuestVmException stopped = assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image)
                .runDir(tmp.resolve("run3")).qemuBinary(kvmStops.toString()).accel(Accel.AUTO)
                .bootTimeout(Duration.ofSeconds(120)).boot());
        assertContains(stopped, "TCG) did not boot: QEMU exited with status 1");
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(60), "tried TCG before the boot timeout");
        assertEquals(Accel.TCG, Accel.firstChoice());

        // KVM whose guest shows nothing (this machine's KVM, 2026-12-04: silent after "Booting from ROM"
        // for 60-90 s before KVM's error): the hang watch sends AUTO to TCG too, not to another KVM try.
        Accel.setKvmFailed(false);
        Path kvmSilent = FakeQemu.create(tmp, "kvm-silent", "case \"$*\" in *'-accel kvm'*)"
                + " printf 'SeaBIOS (version 1.16.2-debian-1.16.2-1)\\nBooting from ROM...\\n' > \"$console\"; exec sleep 600;; esac;"
                + " echo 'qemu-system-x86_64: linux kernel too old'; exit 1");
        long silentStart = System.nanoTime();
        GuestVmException silent = assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image)
                .runDir(tmp.resolve("run5")).qemuBinary(kvmSilent.toString()).accel(Accel.AUTO)
                .userSpaceWithin(Duration.ofSeconds(2)).bootTimeout(Duration.ofSeconds(120)).boot());
        assertContains(silent, "TCG) did not boot: QEMU exited with status 1");
        assertTrue(System.nanoTime() - silentStart < TimeUnit.SECONDS.toNanos(30), "tried TCG once the KVM guest counted as hung");
        assertEquals(Accel.TCG, Accel.firstChoice());
        // KVM asked for: the hang fails the boot, with no second try under KVM.
        GuestVmException kvmHung = assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image)
                .runDir(tmp.resolve("run6")).qemuBinary(kvmSilent.toString()).accel(Accel.KVM)
                .userSpaceWithin(Duration.ofSeconds(2)).bootTimeout(Duration.ofSeconds(120)).boot());
        assertContains(kvmHung, "KVM) did not boot: the guest hung under KVM before its agent started: no 'init:' line on its"
                + " console within 2s of QEMU's start");
        assertFalse(Files.exists(tmp.resolve("run6").resolve("console-hung-1.log")), "a KVM hang was tried again");

        // Asked for KVM: the same failure ends the boot at once, saying why.
        GuestVmException kvm = assertThrows(GuestVmException.class, () -> GuestVm.builder().image(image)
                .runDir(tmp.resolve("run4")).qemuBinary(kvmStops.toString()).accel(Accel.KVM)
                .bootTimeout(Duration.ofSeconds(120)).boot());
        assertContains(kvm, "KVM) did not boot: KVM stopped the guest");
        assertContains(kvm, "KVM internal error");
    }
}
