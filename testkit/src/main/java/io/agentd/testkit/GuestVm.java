package io.agentd.testkit;

import io.agentd.client.AgentClient;
import io.agentd.client.ConnectionLostException;
import io.agentd.client.ExecResult;
import io.agentd.protocol.HostText;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Ready;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agentd guest booted under QEMU from Java, the way scripts/guest/boot boots it, with its agent
 * ready and a client connected to it.
 *
 * <pre>{@code
 * try (GuestVm vm = GuestVm.builder().image(Path.of("build/guest")).kernelArgs("agentd.profile=strict").boot()) {
 *     ExecResult r = vm.exec("uname", "-r");                  // r.exitCode(), r.stdoutText(), r.stderrText()
 *     vm.client().files().upload(Path.of("app.tar"), "/tmp/app.tar");   // into the guest
 *     vm.client().files().download("/etc/hostname", Path.of("hostname")); // out of it
 * }
 * }</pre>
 *
 * <p>The image is a directory of scripts/guest/build-image ({@code --out}); without {@link Builder#image}
 * it is {@link GuestImage#defaultDir()}. For stdin, environment, a working directory or another
 * user, run an {@code ExecRequest} through {@link #client()}. JUnit tests can have the VM injected
 * instead ({@link GuestVmExtension}).
 *
 * <p>Its files are in its run directory (by default a fresh temporary directory per VM, so VMs booted
 * in parallel never share one): {@code agent.sock}, the socket of an in-process relay (the client
 * module's {@code Relay}, as scripts/guest/boot runs {@code agentctl relay}) where up to 128 clients
 * use the VM at once; {@code port.sock}, QEMU's chardev socket, the relay's one connection;
 * {@code qmp.sock}, QEMU's QMP socket, where the relay learns that the guest closed the port and
 * that QEMU resumed the VM (it then sets the guest's clock); {@code mon.sock}, the kit's own QMP
 * monitor ({@link #pause}, {@link #resume});
 * {@code console.log} (the guest's console), {@code qemu.log} (what QEMU printed), {@code qemu.pid}.
 * {@link #client()} is the kit's own client; other threads may share it or {@link #connect()} their own,
 * and other processes connect to {@link #agentSocket()} (e.g. {@code agentctl --socket}). QEMU never outlives the JVM
 * ({@link QemuProcesses}). {@link #close} asks the agent to shut down, waits for QEMU to exit and kills
 * it if it does not in time; it may be called again (it does nothing then).
 */
public final class GuestVm implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GuestVm.class);
    /** Lines of the console an exception quotes. */
    static final int ERROR_TAIL_LINES = 40;
    /**
     * How far back an exception's quote of the console looks for a kernel panic's own line: its
     * reason, printed before a trace that can run past {@link #ERROR_TAIL_LINES} lines (the kernel
     * reboots at once, under panic=-1, with the trace as its last lines).
     */
    static final int PANIC_TAIL_LINES = 200;
    static final String KERNEL_PANIC = "Kernel panic - not syncing";
    /** The kernel's last console line when it powers the machine off (kernel_power_off). */
    static final String POWER_DOWN_LINE = "reboot: Power down";
    /**
     * How many times in all a TCG boot is tried whose guest hangs before its agent starts
     * ({@link HungBootCheck}: under TCG one boot in some hundreds, with no fault of the image). Under
     * KVM a hang is KVM's failure (a nested host's KVM runs the guest silently for a minute or more,
     * then stops it): AUTO's trial then boots with TCG, and KVM asked for fails the boot.
     */
    static final int HUNG_BOOT_TRIES = 3;
    /** A hung try's console is kept in the run directory as this, its try's number and ".log". */
    static final String HUNG_CONSOLE_PREFIX = "console-hung-";
    /** The console's file in the run directory (scripts/guest/boot's name too). */
    private static final String CONSOLE_FILE = "console.log";
    /** QEMU prints KVM's error line first, then a register dump of some 30 lines. */
    private static final int KVM_ERROR_TAIL_LINES = 200;
    /** A KVM QEMU that exits this soon after its start failed on KVM itself, not on the guest. */
    private static final Duration KVM_FAILURE_WINDOW = Duration.ofSeconds(10);

    private final GuestImage image;
    private final Path runDir;
    private final boolean ownsRunDir;
    /** Held from before the boot until close: no other VM boots from {@link #runDir} meanwhile. */
    private RunDirLock runDirLock;
    private final Process qemu;
    private final AgentLink link;
    private final AgentClient client;
    private final ConsoleLog console;
    private final Duration bootToReady;
    private final Duration shutdownTimeout;
    private final AtomicBoolean closed = new AtomicBoolean();

    private GuestVm(Builder b, GuestImage image, Path runDir, Process qemu, AgentLink link, AgentClient client,
            ConsoleLog console, Duration bootToReady) {
        this.image = image;
        this.runDir = runDir;
        this.ownsRunDir = b.runDir == null;
        this.qemu = qemu;
        this.link = link;
        this.client = client;
        this.console = console;
        this.bootToReady = bootToReady;
        this.shutdownTimeout = b.shutdownTimeout;
    }

    /** A builder with the defaults of scripts/guest/boot: 1024 MiB, 2 vCPUs, the default image. */
    public static Builder builder() {
        return new Builder();
    }

    /** The kit's client of this VM's agent (through the relay); thread-safe, so threads may share it. */
    public AgentClient client() {
        if (closed.get()) {
            throw new IllegalStateException("the guest VM in " + runDir + " is closed");
        }
        return client;
    }

    /** Runs {@code argv} in the guest as root, stdin closed, and waits up to a minute for it to end. */
    public ExecResult exec(String... argv) throws IOException, TimeoutException, InterruptedException {
        return exec(Duration.ofMinutes(1), argv);
    }

    /** Runs {@code argv} in the guest as root, stdin closed, and waits up to {@code timeout} for it to end. */
    public ExecResult exec(Duration timeout, String... argv) throws IOException, TimeoutException, InterruptedException {
        if (argv.length == 0) {
            throw new IllegalArgumentException("no command");
        }
        try {
            return client().run(ExecRequest.of(argv[0], Arrays.copyOfRange(argv, 1, argv.length)), timeout);
        } catch (ConnectionLostException e) {
            throw whenTheGuestIsGone(e);
        } catch (TimeoutException e) {
            // The client's "session N: no exit within 1s" names neither the command nor the VM.
            TimeoutException said = new TimeoutException(HostText.quote(String.join(" ", argv), 200)
                    + " in the guest of " + runDir + ": " + e.getMessage());
            said.initCause(e);
            throw said;
        }
    }

    /**
     * {@code lost}, or when QEMU has exited (the relay then closes every connection) the same failure
     * saying so, with the console's tail attached: "closed the connection" alone does not tell a
     * guest that panicked or powered off from an agent that broke.
     */
    private ConnectionLostException whenTheGuestIsGone(ConnectionLostException lost) throws InterruptedException {
        // The connection closes as QEMU exits: give the exit a moment to be seen.
        if (!qemu.waitFor(1, TimeUnit.SECONDS)) {
            return lost;
        }
        String how = qemu.exitValue() != 0 ? "QEMU failed or was killed"
                : poweredOff() ? "the guest powered off" : "the guest ended without powering off: a kernel panic or a reset";
        ConnectionLostException gone = new ConnectionLostException(lost.getMessage() + ": QEMU exited with status "
                + qemu.exitValue() + " (" + how + "); its console is " + console.file(), lost);
        gone.addSuppressed(new GuestDiagnostics(consoleQuote(console.file())));
        if (qemu.exitValue() != 0) {
            // QEMU's own words (an assertion, a device error): the console shows nothing of them.
            String said = QemuProcesses.tail(runDir.resolve("qemu.log"), 40);
            if (!said.isBlank()) {
                gone.addSuppressed(new GuestDiagnostics("--- qemu.log, last 40 lines:\n" + said));
            }
        }
        return gone;
    }

    /**
     * The console's end as an exception quotes it: its last {@link #ERROR_TAIL_LINES} lines or,
     * when a kernel panic's trace pushed the panic's own line out of them, from that line on.
     */
    static String consoleQuote(Path file) {
        String text = QemuProcesses.tail(file, ERROR_TAIL_LINES);
        long lines = ERROR_TAIL_LINES;
        if (!text.contains(KERNEL_PANIC)) {
            String longer = QemuProcesses.tail(file, PANIC_TAIL_LINES);
            int panic = longer.lastIndexOf(KERNEL_PANIC);
            if (panic >= 0) {
                text = longer.substring(longer.lastIndexOf('\n', panic) + 1);
                lines = text.lines().count();
            }
        }
        return "--- console, last " + lines + " lines (" + file + "):\n" + text;
    }

    /** The agent's core.ready of the kit's connection (null if the agent was found by a ping). */
    public Ready ready() {
        return client.ready();
    }

    /** From QEMU's start to the agent's core.ready on the kit's connection. */
    public Duration bootToReady() {
        return bootToReady;
    }

    /** The guest's console: kernel, init and the agent's log. */
    public ConsoleLog console() {
        return console;
    }

    /** This VM's files (see the class comment). Deleted by {@link #close} when it was the default temporary one. */
    public Path runDir() {
        return runDir;
    }

    /**
     * The relay's socket, where any host connects (e.g. {@code agentctl --socket}, another JVM) while
     * the kit's client is connected too; it goes away with the VM.
     */
    public Path agentSocket() {
        return link.hostSocket();
    }

    /**
     * A new client of this VM's agent through the relay, ready (its own connection and id range, for a
     * test that closes connections or must not share the kit's). The caller closes it.
     */
    public AgentClient connect() throws IOException, TimeoutException, InterruptedException {
        client(); // throws once closed
        return AgentClient.connect(link.hostSocket(), Duration.ofSeconds(30));
    }

    /**
     * Stops the VM's CPUs (QMP {@code stop} on the kit's own monitor, {@code mon.sock}): the guest,
     * its clock included, stands still until {@link #resume}. The relay and its clients stay connected;
     * what they send waits.
     *
     * @throws IOException QEMU refused, or its monitor is gone (the VM exited)
     */
    public void pause() throws IOException, TimeoutException, InterruptedException {
        client(); // throws once closed
        QmpMonitor.execute(link.monitorSocket(), "stop", Duration.ofSeconds(30));
    }

    /**
     * Runs the VM again after {@link #pause} (QMP {@code cont}). QEMU's RESUME event reaches the relay,
     * which sends the agent the host's time (core.clock.sync): the guest's clock stood still meanwhile.
     */
    public void resume() throws IOException, TimeoutException, InterruptedException {
        client();
        QmpMonitor.execute(link.monitorSocket(), "cont", Duration.ofSeconds(30));
    }

    /**
     * Presses the VM's ACPI power button (QMP {@code system_powerdown} on the kit's monitor), as a
     * VMM's graceful stop does: the guest's init has the agent stopped (SIGTERM) and powers off.
     * Returns once QEMU took the command; {@link #awaitExit} waits for the power-off, {@link #close}
     * still kills QEMU if the guest never gets there.
     *
     * @throws IOException QEMU refused, or its monitor is gone (the VM exited)
     */
    public void powerDown() throws IOException, TimeoutException, InterruptedException {
        client();
        QmpMonitor.execute(link.monitorSocket(), "system_powerdown", Duration.ofSeconds(30));
    }

    /** The clients the relay serves now, the kit's own included (0 once the VM is gone). */
    public int relayClients() {
        return link.clientCount();
    }

    public GuestImage image() {
        return image;
    }

    /** QEMU's pid. */
    public long pid() {
        return qemu.pid();
    }

    /** QEMU's exit status once it has exited. */
    public OptionalInt exitStatus() {
        return qemu.isAlive() ? OptionalInt.empty() : OptionalInt.of(qemu.exitValue());
    }

    /**
     * Waits until QEMU has exited (the guest powered off, e.g. after a shutdown its own test asked
     * for, or crashed), at most {@code timeout}; returns its exit status, empty if it still runs.
     * Nothing is stopped or killed here: {@link #close} does that.
     */
    public OptionalInt awaitExit(Duration timeout) throws InterruptedException {
        qemu.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
        return exitStatus();
    }

    /**
     * Asks the agent to shut down (init then powers the VM off), waits for QEMU to exit, kills it if it
     * has not within the shutdown timeout. Then removes the default temporary run directory if the
     * guest powered off (whoever asked for it), and keeps it when QEMU had to be killed, exited
     * non-zero, or the guest ended without powering off (a kernel panic): its console then stays for a
     * look, and the path is logged (slf4j, WARN). Idempotent.
     */
    @Override
    public void close() throws InterruptedException {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        // A test that kept its interrupt (the usual idiom, an interrupted NIO call, a @Timeout) would
        // make every wait below end at once: no shutdown asked for, QEMU killed, and the run
        // directory neither removed nor named. The flag is put back at the end.
        boolean interrupted = Thread.interrupted();
        try {
            closeUninterrupted();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void closeUninterrupted() throws InterruptedException {
        boolean exited = false;
        try {
            long deadline = System.nanoTime() + shutdownTimeout.toNanos();
            if (qemu.isAlive()) {
                askForShutdown();
            }
            exited = qemu.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } finally {
            try {
                if (qemu.isAlive()) {
                    QemuProcesses.kill(qemu);
                }
            } finally {
                try {
                    client.close();
                } finally {
                    try {
                        link.close();
                    } finally {
                        if (runDirLock != null) {
                            runDirLock.close();
                        }
                    }
                }
            }
        }
        if (ownsRunDir) {
            if (exited && qemu.exitValue() == 0 && poweredOff()) {
                deleteTree(runDir);
            } else if (exited && qemu.exitValue() == 0) {
                log.warn("the guest ended without powering off (a kernel panic or a reset, QEMU exit status 0);"
                        + " its files stay in {}", runDir);
            } else {
                log.warn("the guest did not power off cleanly; its files stay in {}", runDir);
            }
        }
    }

    /**
     * Sends core.shutdown from a thread of its own, waiting for it no longer than the shutdown timeout:
     * the send takes the client's write lock, which another thread of the test can hold for good (a
     * write the agent no longer reads, left running after a test's timeout), and QEMU must be killed
     * after the timeout whatever happens. A send still stuck then ends when the client is closed.
     * When the kit's client is closed already (by the test, or by the relay after the agent died
     * mid-frame and init restarted it) the shutdown goes on a connection of its own.
     */
    private void askForShutdown() throws InterruptedException {
        Thread sender = new Thread(() -> {
            try {
                if (client.isOpen()) {
                    client.shutdown();
                } else {
                    try (AgentClient own = AgentClient.connect(link.hostSocket(), shutdownTimeout)) {
                        own.shutdown();
                    }
                }
            } catch (IOException | TimeoutException e) {
                // The connection is gone, or none could be made: QEMU is killed after the timeout.
            } catch (InterruptedException e) {
                // close() gave up waiting for this thread; QEMU is killed.
            }
        }, "guest-vm-shutdown");
        sender.setDaemon(true);
        sender.start();
        sender.join(shutdownTimeout.toMillis());
    }

    /**
     * Whether the kernel powered the machine off: QEMU exits 0 after a kernel panic as after a
     * power-off (panic=-1, -no-reboot), and only the console tells them apart. The kernel prints its
     * last line at KERN_EMERG, so quiet keeps it.
     */
    private boolean poweredOff() {
        return QemuProcesses.tail(console.file(), 5).contains(POWER_DOWN_LINE);
    }

    @Override
    public String toString() {
        return "GuestVm[" + image.dir() + ", run " + runDir + ", pid " + qemu.pid() + "]";
    }

    private static GuestVm boot(Builder b) throws GuestVmException, InterruptedException {
        GuestImage image = GuestImage.load(b.image != null ? b.image : GuestImage.defaultDir());
        QemuProcesses.requireInstalled(b.qemuBinary); // before a run directory is made for nothing
        Accel accel = Accel.configured(b.accel); // so is a bad AGENTD_GUEST_ACCEL
        Path runDir = prepareRunDir(b.runDir);
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

    private static GuestVm bootTries(Builder b, GuestImage image, Path runDir, Accel accel)
            throws GuestVmException, InterruptedException {
        AgentLink link = AgentLink.in(runDir);
        List<String> hungTries = new ArrayList<>();
        for (int tryNumber = 1; ; tryNumber++) {
            try {
                return bootOnce(b, image, runDir, link, accel, tryNumber);
            } catch (HungBoot e) {
                if (tryNumber == HUNG_BOOT_TRIES) {
                    throw withEarlierTries(e.failure, hungTries);
                }
                String kept = keepHungConsole(runDir, tryNumber);
                hungTries.add("try " + tryNumber + ": " + e.reason + "; its console " + kept);
                log.warn("guest {} (run directory {}) hung before its agent started ({}); booting it again, try {} of {}; "
                        + "the hung boot's console {}", image.dir(), runDir, e.reason, tryNumber + 1, HUNG_BOOT_TRIES, kept);
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

    private static GuestVm bootOnce(Builder b, GuestImage image, Path runDir, AgentLink link, Accel accel, int tryNumber)
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
    private static GuestVm attempt(Builder b, GuestImage image, Path runDir, AgentLink link, Accel accel, boolean kvmTrial,
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
            String qemuSaid = QemuProcesses.tail(qemuLog, ERROR_TAIL_LINES);
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
                            + HUNG_BOOT_TRIES + ": " + hangWatch.reason() + " (QEMU was killed)"
                    : e instanceof TimeoutException
                    ? "the agent was not ready within " + io.agentd.client.Timeouts.text(b.bootTimeout) + " (" + e.getMessage() + ")"
                    : e.getMessage();
            GuestVmException failure = new GuestVmException("guest " + image.dir() + " (run directory " + runDir + ", "
                    + accel + ") did not boot: " + why + kernelHangHint(console) + "\n--- QEMU (" + qemuLog + "):\n"
                    + qemuSaid + "\n" + consoleQuote(console.file()), e);
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
        return String.join(" ", java.util.Arrays.copyOfRange(lines, from, lines.length)).strip();
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

    private static Path prepareRunDir(Path given) throws GuestVmException {
        try {
            if (given == null) {
                return Files.createTempDirectory("agentd-vm-");
            }
            return Files.createDirectories(given).toAbsolutePath();
        } catch (IOException e) {
            throw new GuestVmException("cannot create the run directory " + given + ": " + e.getMessage(), e);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // Left behind in the temporary directory: harmless.
        }
    }

    /** How to boot a {@link GuestVm}; every setting has a default. */
    public static final class Builder {
        private Path image;
        private int memoryMib = 1024;
        private int vcpus = 2;
        private final List<String> kernelArgs = new ArrayList<>();
        private Path runDir;
        private Duration bootTimeout = Duration.ofSeconds(180);
        private Duration userSpaceWithin;
        private Duration shutdownTimeout = Duration.ofSeconds(30);
        private String qemuBinary = QemuCommand.DEFAULT_BINARY;
        private Accel accel;

        private Builder() {
        }

        /** The image directory (build-image's --out); default {@link GuestImage#defaultDir()}. */
        public Builder image(Path dir) {
            this.image = dir;
            return this;
        }

        /**
         * Guest memory in MiB (default 1024). The project's image needs about 256: its initramfs is
         * unpacked into memory first (below that the kernel cannot unpack it, or runs out during the
         * boot, and the boot fails with the kernel's line).
         */
        public Builder memoryMib(int mib) {
            if (mib < 64) {
                throw new IllegalArgumentException("memoryMib below 64: " + mib);
            }
            this.memoryMib = mib;
            return this;
        }

        /** Guest CPUs (default 2). */
        public Builder vcpus(int count) {
            if (count < 1) {
                throw new IllegalArgumentException("vcpus below 1: " + count);
            }
            this.vcpus = count;
            return this;
        }

        /**
         * Parameters added to the kernel command line, one a string: {@code NAME=VALUE} or {@code NAME}.
         * {@code agentd.NAME=VALUE} becomes the agent option {@code --NAME VALUE} (e.g.
         * {@code agentd.profile=restricted}, {@code agentd.log-level=debug}). A VALUE may hold spaces
         * ({@code agentd.env=GREETING=hello world}): it is passed in double quotes, which the kernel and
         * the guest's init remove.
         *
         * @throws IllegalArgumentException a blank string, a NAME with whitespace (two parameters in one
         *                                  string), or a double quote, newline or NUL anywhere, which no
         *                                  kernel parameter can carry
         */
        public Builder kernelArgs(String... words) {
            for (String w : words) {
                kernelArgs.add(QemuCommand.kernelParameter(w));
            }
            return this;
        }

        /** Where the VM's files go (created if missing, kept after close); default a fresh temporary directory. */
        public Builder runDir(Path dir) {
            this.runDir = dir;
            return this;
        }

        /**
         * How long QEMU's start to core.ready may take (default 180 s: a TCG boot takes 10-30 s alone). It
         * bounds each try: a guest that hangs before its agent starts is killed and booted again, up to
         * {@link GuestVm#HUNG_BOOT_TRIES} tries in all. A hung try ends when its console has shown no
         * init line for a third of this timeout (at least a minute) or shows a soft lockup of 40 s
         * (some 45 s after QEMU's start), so boot() may take that long twice more than this timeout.
         * A timeout under a minute ends a try that hangs before init before the watch would.
         */
        public Builder bootTimeout(Duration timeout) {
            this.bootTimeout = positive(timeout, "bootTimeout");
            return this;
        }

        /**
         * How long after QEMU's start the guest's init must have said its first line; a guest that has
         * not is taken for hung and booted again. Package-private: tests shorten it.
         */
        Builder userSpaceWithin(Duration within) {
            this.userSpaceWithin = positive(within, "userSpaceWithin");
            return this;
        }

        /**
         * The set one, else {@link HungBootCheck#USER_SPACE_WITHIN} or a third of the boot timeout,
         * whichever is longer: who allows a boot more time has a slower host (BootBench boots four VMs
         * at once with ten minutes each).
         */
        Duration userSpaceWithin() {
            if (userSpaceWithin != null) {
                return userSpaceWithin;
            }
            Duration third = bootTimeout.dividedBy(3);
            return third.compareTo(HungBootCheck.USER_SPACE_WITHIN) > 0 ? third : HungBootCheck.USER_SPACE_WITHIN;
        }

        /** How long {@link GuestVm#close} waits for the guest to power off before killing QEMU (default 30 s). */
        public Builder shutdownTimeout(Duration timeout) {
            this.shutdownTimeout = positive(timeout, "shutdownTimeout");
            return this;
        }

        /** The QEMU program, a name looked up on PATH or a path (default qemu-system-x86_64). */
        public Builder qemuBinary(String program) {
            this.qemuBinary = program;
            return this;
        }

        /**
         * TCG, KVM, or AUTO: KVM when /dev/kvm opens, falling back to TCG (for this VM and the rest of the
         * JVM) when QEMU exits at once under KVM. Default: {@link Accel#PROPERTY} or {@link Accel#ENV}, else AUTO.
         */
        public Builder accel(Accel accel) {
            this.accel = accel;
            return this;
        }

        /**
         * Boots the VM and waits for the agent's core.ready.
         *
         * @throws GuestVmException the image is missing or broken, QEMU is missing, or the guest did not
         *                          become ready in time (the console's tail is in the message); QEMU has
         *                          then been killed
         */
        public GuestVm boot() throws GuestVmException, InterruptedException {
            return GuestVm.boot(this);
        }

        private static Duration positive(Duration d, String name) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive: " + d);
            }
            return d;
        }
    }
}
