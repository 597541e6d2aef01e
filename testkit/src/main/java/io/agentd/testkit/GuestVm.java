package io.agentd.testkit;

import io.agentd.client.AgentClient;
import io.agentd.client.ConnectionLostException;
import io.agentd.client.ExecResult;
import io.agentd.protocol.HostText;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Ready;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

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
    /**
     * How many times in all a TCG boot is tried whose guest hangs before its agent starts
     * ({@link HungBootCheck}: under TCG one boot in some hundreds, with no fault of the image). Under
     * KVM a hang is KVM's failure (a nested host's KVM runs the guest silently for a minute or more,
     * then stops it): AUTO's trial then boots with TCG, and KVM asked for fails the boot.
     */
    static final int HUNG_BOOT_TRIES = 3;

    private final GuestImage image;
    private final Path runDir;
    private final boolean ownsRunDir;
    /**
     * Held from before the boot until close: no other VM boots from {@link #runDir} meanwhile. Set by
     * {@link GuestBoot} once the boot succeeded.
     */
    RunDirLock runDirLock;
    private final Process qemu;
    private final AgentLink link;
    private final AgentClient client;
    private final ConsoleLog console;
    private final Duration bootToReady;
    private final Duration shutdownTimeout;
    private final AtomicBoolean closed = new AtomicBoolean();

    GuestVm(Builder b, GuestImage image, Path runDir, Process qemu, AgentLink link, AgentClient client,
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
            throw GuestGone.explain(e, qemu, runDir, console);
        } catch (TimeoutException e) {
            // The client's "session N: no exit within 1s" names neither the command nor the VM.
            TimeoutException said = new TimeoutException(HostText.quote(String.join(" ", argv), 200)
                    + " in the guest of " + runDir + ": " + e.getMessage());
            said.initCause(e);
            throw said;
        }
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
                ShutdownRequest.send(client, link.hostSocket(), shutdownTimeout);
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
            boolean exitedZero = exited && qemu.exitValue() == 0;
            RunDirKeeping.afterClose(runDir, exitedZero, exitedZero && poweredOff());
        }
    }

    /**
     * Whether the kernel powered the machine off: QEMU exits 0 after a kernel panic as after a
     * power-off (panic=-1, -no-reboot), and only the console tells them apart. The kernel prints its
     * last line at KERN_EMERG, so quiet keeps it.
     */
    private boolean poweredOff() {
        return ConsoleEnd.poweredOff(console.file());
    }

    @Override
    public String toString() {
        return "GuestVm[" + image.dir() + ", run " + runDir + ", pid " + qemu.pid() + "]";
    }

    /** How to boot a {@link GuestVm}; every setting has a default. */
    public static final class Builder {
        // Package-private: GuestBoot reads them; only the setters below write them.
        Path image;
        int memoryMib = 1024;
        int vcpus = 2;
        final List<String> kernelArgs = new ArrayList<>();
        Path runDir;
        Duration bootTimeout = Duration.ofSeconds(180);
        Duration userSpaceWithin;
        Duration shutdownTimeout = Duration.ofSeconds(30);
        String qemuBinary = QemuCommand.DEFAULT_BINARY;
        Accel accel;

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
            return GuestBoot.boot(this);
        }

        private static Duration positive(Duration d, String name) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive: " + d);
            }
            return d;
        }
    }
}
