package io.agentd.testkit;

import io.agentd.client.AgentClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How {@link GuestVm.Builder#boot} boots a guest: the image, QEMU and the accelerator checked, the run
 * directory made and locked, then tries of QEMU until the agent's core.ready. A try whose guest hangs
 * before its agent started ({@link HungBootCheck}) is killed and made again, up to
 * {@link GuestVm#HUNG_BOOT_TRIES} in all, its console kept aside; under AUTO a try with KVM that KVM
 * fails ends in a try with TCG. Every failure kills QEMU and says why, with QEMU's output and the
 * console's end ({@link ConsoleEnd}).
 */
final class GuestBoot {
    /** Logged under GuestVm's name, as before this class was split from it: log configurations name it. */
    private static final Logger log = LoggerFactory.getLogger(GuestVm.class);
    /** A hung try's console is kept in the run directory as this, its try's number and ".log". */
    static final String HUNG_CONSOLE_PREFIX = "console-hung-";
    /** The console's file in the run directory (scripts/guest/boot's name too). */
    private static final String CONSOLE_FILE = "console.log";
    /** QEMU prints KVM's error line first, then a register dump of some 30 lines. */
    private static final int KVM_ERROR_TAIL_LINES = 200;
    /** A KVM QEMU that exits this soon after its start failed on KVM itself, not on the guest. */
    private static final Duration KVM_FAILURE_WINDOW = Duration.ofSeconds(10);

    private GuestBoot() {
    }

    static GuestVm boot(GuestVm.Builder b) throws GuestVmException, InterruptedException {
        GuestImage image = GuestImage.load(b.image != null ? b.image : GuestImage.defaultDir());
        QemuProcesses.requireInstalled(b.qemuBinary); // before a run directory is made for nothing
        Accel accel = Accel.configured(b.accel); // so is a bad AGENTD_GUEST_ACCEL
        Path runDir = RunDirKeeping.prepare(b.runDir);
        RunDirLock lock = RunDirLock.take(runDir); // before anything in it is removed
        boolean booted = false;
        try {
            deleteHungConsoles(runDir); // a reused run directory's, from an earlier boot
            GuestVm vm = bootTries(b, image, runDir, accel);
            vm.runDirLock = lock;
            booted = true;
            return vm;
        } finally {
            if (!booted) {
                lock.close();
                if (b.runDir == null) { // kept for its console log; said here too, not only in the failure
                    log.warn("guest {} did not boot; its temporary run directory {} is kept (console log inside)",
                            image.dir(), runDir);
                }
            }
        }
    }

    private static GuestVm bootTries(GuestVm.Builder b, GuestImage image, Path runDir, Accel accel)
            throws GuestVmException, InterruptedException {
        AgentLink link = AgentLink.in(runDir);
        List<String> hungTries = new ArrayList<>();
        for (int tryNumber = 1; ; tryNumber++) {
            try {
                return bootOnce(b, image, runDir, link, accel, tryNumber);
            } catch (HungBoot e) {
                if (tryNumber == GuestVm.HUNG_BOOT_TRIES) {
                    throw withEarlierTries(e.failure, hungTries);
                }
                String kept = keepHungConsole(runDir, tryNumber);
                hungTries.add("try " + tryNumber + ": " + e.reason + "; its console " + kept);
                log.warn("guest {} (run directory {}) hung before its agent started ({}); booting it again, try {} of {}; "
                        + "the hung boot's console {}", image.dir(), runDir, e.reason, tryNumber + 1, GuestVm.HUNG_BOOT_TRIES, kept);
            } catch (GuestVmException e) {
                throw withEarlierTries(e, hungTries);
            }
        }
    }

    /** {@code failure} with what the boot's earlier, hung tries showed (it alone, when none hung). */
    private static GuestVmException withEarlierTries(GuestVmException failure, List<String> hungTries) {
        if (hungTries.isEmpty()) {
            return failure;
        }
        GuestVmException told = new GuestVmException(failure.getMessage() + "\n--- the boot's earlier tries hung before"
                + " their agent started (each QEMU was killed):\n" + String.join("\n", hungTries), failure.getCause());
        told.setStackTrace(failure.getStackTrace());
        return told;
    }

    private static GuestVm bootOnce(GuestVm.Builder b, GuestImage image, Path runDir, AgentLink link, Accel accel, int tryNumber)
            throws GuestVmException, InterruptedException {
        if (accel == Accel.AUTO && Accel.firstChoice() == Accel.KVM) {
            try {
                return attempt(b, image, runDir, link, Accel.KVM, true, tryNumber);
            } catch (KvmUnusable e) {
                Accel.markKvmFailed();
                log.warn("QEMU with KVM failed ({}); booting with TCG from now on in this JVM", e.getMessage());
            }
        }
        return attempt(b, image, runDir, link, accel == Accel.AUTO ? Accel.TCG : accel, false, tryNumber);
    }

    /**
     * Moves the console of hung try {@code tryNumber} aside, since the next try starts console.log
     * afresh; says where it is ("is FILE") or why it is not kept.
     */
    private static String keepHungConsole(Path runDir, int tryNumber) {
        Path kept = runDir.resolve(HUNG_CONSOLE_PREFIX + tryNumber + ".log");
        try {
            return "is " + Files.move(runDir.resolve(CONSOLE_FILE), kept, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            return "could not be kept (" + e + ")";
        }
    }

    private static void deleteHungConsoles(Path runDir) throws GuestVmException {
        try (Stream<Path> files = Files.list(runDir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (f.getFileName().toString().startsWith(HUNG_CONSOLE_PREFIX)) {
                    Files.deleteIfExists(f);
                }
            }
        } catch (IOException e) {
            throw new GuestVmException("cannot prepare the run directory " + runDir + ": " + e.getMessage(), e);
        }
    }

    /**
     * One QEMU run until core.ready.
     *
     * @param kvmTrial KVM tried by AUTO: QEMU refusing KVM within {@link #KVM_FAILURE_WINDOW}, or KVM
     *                 stopping the guest ({@link BootWatch}), throws {@link KvmUnusable} (the caller
     *                 tries TCG) instead of failing the boot
     * @param tryNumber which try this is of a boot whose earlier tries hung ({@link HungBoot})
     */
    private static GuestVm attempt(GuestVm.Builder b, GuestImage image, Path runDir, AgentLink link, Accel accel, boolean kvmTrial,
            int tryNumber) throws GuestVmException, InterruptedException {
        ConsoleLog console = new ConsoleLog(runDir.resolve(CONSOLE_FILE));
        Path qemuLog = runDir.resolve("qemu.log");
        try {
            Files.deleteIfExists(link.chardevSocket());
            Files.deleteIfExists(link.hostSocket());
            Files.deleteIfExists(link.qmpSocket());
            Files.deleteIfExists(link.monitorSocket());
            Files.write(console.file(), new byte[0]);
        } catch (IOException e) {
            throw new GuestVmException("cannot prepare the run directory " + runDir + ": " + e.getMessage(), e);
        }
        List<String> argv = new ArrayList<>(QemuCommand.argv(b.qemuBinary, accel, image, b.memoryMib, b.vcpus,
                b.kernelArgs, link.chardevSocket(), link.qmpSocket(), console.file(), runDir.resolve("qemu.pid")));
        argv.addAll(QemuCommand.kitMonitor(link.monitorSocket()));
        long start = System.nanoTime();
        Process qemu = QemuProcesses.start(argv, qemuLog);
        BootWatch kvmWatch = accel != Accel.KVM ? null : BootWatch.start(qemu, "kvm",
                () -> Accel.kvmStoppedTheGuest(QemuProcesses.tail(qemuLog, KVM_ERROR_TAIL_LINES)) ? "KVM stopped the guest" : null);
        BootWatch hangWatch = BootWatch.start(qemu, "hang",
                new HungBootCheck(console, start, b.userSpaceWithin(), System::nanoTime));
        // A kernel that says it cannot go on ends the boot at once, and no try is made again: a
        // truncated initramfs waited out three tries of the hang check (3 minutes) before.
        BootWatch kernelWatch = BootWatch.start(qemu, "kernel", () -> {
            try {
                return console.kernelFailure().map(String::strip).orElse(null);
            } catch (IOException e) {
                return null;
            }
        });
        try {
            AgentClient client = link.connect(qemu, start + b.bootTimeout.toNanos());
            Duration bootToReady = Duration.ofNanos(System.nanoTime() - start);
            // A watch that was in its check as the agent became ready may have killed QEMU since.
            stop(hangWatch, kvmWatch, kernelWatch);
            if (hangWatch.tripped() || kernelWatch.tripped() || kvmWatch != null && kvmWatch.tripped()) {
                client.close();
                throw new GuestVmException("the agent was ready as QEMU was killed");
            }
            return new GuestVm(b, image, runDir, qemu, link, client, console, bootToReady);
        } catch (GuestVmException | TimeoutException | RuntimeException e) {
            boolean exitedAtOnce = !qemu.isAlive() && System.nanoTime() - start < KVM_FAILURE_WINDOW.toNanos();
            boolean kvmStoppedTheGuest = kvmWatch != null && kvmWatch.tripped();
            boolean kernelFailed = kernelWatch.tripped();
            boolean hung = hangWatch.tripped() && !kvmStoppedTheGuest && !kernelFailed;
            try {
                QemuProcesses.kill(qemu);
            } finally {
                link.close();
            }
            String qemuSaid = QemuProcesses.tail(qemuLog, ConsoleEnd.ERROR_TAIL_LINES);
            if (kvmTrial && kernelFailed) { // KVM's fault as likely as the image's: TCG tells
                throw new KvmUnusable("the guest's kernel failed under KVM: " + kernelWatch.reason());
            }
            if (kvmTrial && hung) {
                throw new KvmUnusable("the guest hung under KVM: " + hangWatch.reason());
            }
            if (kvmTrial && (kvmStoppedTheGuest || exitedAtOnce && Accel.kvmRefused(qemu.exitValue(), qemuSaid))) {
                throw new KvmUnusable(kvmCause(QemuProcesses.tail(qemuLog, KVM_ERROR_TAIL_LINES)));
            }
            String why = kernelFailed ? "its kernel cannot go on: " + kernelWatch.reason()
                            + " (QEMU was killed; not tried again: the image or the guest's memory is at fault)"
                    : kvmStoppedTheGuest ? "KVM stopped the guest (QEMU was killed; its output below)"
                    : hung && accel == Accel.KVM ? "the guest hung under KVM before its agent started: " + hangWatch.reason()
                            + " (QEMU was killed)"
                    : hung ? "the guest hung before its agent started, in try " + tryNumber + " of "
                            + GuestVm.HUNG_BOOT_TRIES + ": " + hangWatch.reason() + " (QEMU was killed)"
                    : e instanceof TimeoutException
                    ? "the agent was not ready within " + io.agentd.client.Timeouts.text(b.bootTimeout) + " (" + e.getMessage() + ")"
                    : e.getMessage();
            GuestVmException failure = new GuestVmException("guest " + image.dir() + " (run directory " + runDir + ", "
                    + accel + ") did not boot: " + why + kernelHangHint(console) + "\n--- QEMU (" + qemuLog + "):\n"
                    + qemuSaid + "\n" + ConsoleEnd.quote(console.file()), e);
            if (hung && accel == Accel.TCG) {
                throw new HungBoot(hangWatch.reason(), failure);
            }
            throw failure;
        } catch (InterruptedException | Error e) {
            // An Error too (a linkage error from the caller's class path, an AssertionError): QEMU
            // and the relay would otherwise run on until the JVM exits.
            try {
                QemuProcesses.kill(qemu);
            } finally {
                link.close();
            }
            throw e;
        } finally {
            stop(hangWatch, kvmWatch, kernelWatch);
        }
    }

    /**
     * The line of QEMU's output that says why KVM failed ("KVM internal error. Suberror: 1", or the
     * line naming kvm when it refused to start), not its last lines: after an internal error those
     * are the vCPU's register dump ("DR6=00000000ffff0ff0 ... Code=24 5b 80", a review of the kit).
     */
    static String kvmCause(String qemuOutput) {
        String[] lines = qemuOutput.split("\n");
        for (String line : lines) {
            if (Accel.namesKvm(line)) {
                return line.strip();
            }
        }
        int from = Math.max(0, lines.length - 3);
        return String.join(" ", Arrays.copyOfRange(lines, from, lines.length)).strip();
    }

    /** Ends each watch that runs (null: none of that kind); stopping one again does nothing more. */
    private static void stop(BootWatch... watches) {
        for (BootWatch w : watches) {
            if (w != null) {
                w.stop();
            }
        }
    }

    /** What a console without init's first line says about a failed boot (empty when init ran, or the file is gone). */
    private static String kernelHangHint(ConsoleLog console) {
        try {
            return console.reachedUserSpace() ? ""
                    : "; the guest never reached user space (no 'init:' line on its console): it stopped in the kernel";
        } catch (IOException e) {
            return "";
        }
    }

    /** A try whose guest hung before its agent started ({@link HungBootCheck}); caught by boot, which tries again. */
    private static final class HungBoot extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final String reason;
        final transient GuestVmException failure;

        HungBoot(String reason, GuestVmException failure) {
            super(reason, null, false, false);
            this.reason = reason;
            this.failure = failure;
        }
    }

    /** QEMU with KVM exited at once: /dev/kvm opens but does not work (seen under nested virtualization). Caught by boot. */
    private static final class KvmUnusable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        KvmUnusable(String qemuSaid) {
            super(qemuSaid, null, false, false);
        }
    }
}
