package io.agentd.testkit;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * How QEMU runs the guest's CPUs. The default, {@link #AUTO}, can be overridden for every VM of the
 * JVM with the system property {@value #PROPERTY} or the environment variable {@value #ENV}
 * ({@code tcg} or {@code kvm}).
 */
public enum Accel {
    /** KVM when /dev/kvm opens and KVM has not already failed in this JVM, else TCG (see {@link GuestVm.Builder#accel}). */
    AUTO(null, null),
    /** Software emulation: works everywhere, slow (a boot takes 10-30 s). The only one scripts/guest/boot uses. */
    TCG("tcg", "max"),
    /** Hardware virtualization through /dev/kvm. */
    KVM("kvm", "host");

    public static final String PROPERTY = "agentd.guest.accel";
    public static final String ENV = "AGENTD_GUEST_ACCEL";

    /**
     * Set once a KVM boot failed in this JVM. /dev/kvm can open and still be unusable: under nested
     * virtualization QEMU may abort at once ("failed to set MSR ..."), or stop the guest with a "KVM
     * internal error" and wait; later AUTO VMs go straight to TCG.
     */
    private static volatile boolean kvmFailed;

    final String qemuName;
    final String cpu;

    Accel(String qemuName, String cpu) {
        this.qemuName = qemuName;
        this.cpu = cpu;
    }

    /** {@code requested}, or when null the configured default (property, environment), else AUTO. */
    static Accel configured(Accel requested) {
        if (requested != null) {
            return requested;
        }
        String value = System.getProperty(PROPERTY, System.getenv(ENV));
        if (value == null || value.isBlank()) {
            return AUTO;
        }
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(PROPERTY + "/" + ENV + " is \"" + value + "\": tcg, kvm or auto");
        }
    }

    /** What AUTO tries first: KVM when /dev/kvm opens for reading and writing and KVM has not failed here. */
    static Accel firstChoice() {
        if (kvmFailed) {
            return TCG;
        }
        try (RandomAccessFile kvm = new RandomAccessFile("/dev/kvm", "rw")) {
            return KVM;
        } catch (IOException | SecurityException e) {
            return TCG;
        }
    }

    /**
     * Whether QEMU's early exit was QEMU refusing KVM rather than the guest ending: a failure (an exit
     * status other than 0; SIGABRT on a failed assertion) whose output names KVM ("failed to
     * initialize kvm", "kvm_buf_set_msrs: Assertion ..."). A guest that panics or powers off at once
     * makes QEMU exit 0 (-no-reboot) and must not send the rest of the JVM to TCG.
     */
    static boolean kvmRefused(int qemuExitStatus, String qemuOutput) {
        if (qemuExitStatus == 0) {
            return false;
        }
        for (String line : qemuOutput.split("\n")) {
            if (namesKvm(line)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a line of QEMU's output names KVM ("KVM internal error", "failed to initialize kvm").
     * Each message starts with the program's name, which may itself say kvm (qemu-kvm on RHEL and
     * Fedora): only what follows it counts.
     */
    static boolean namesKvm(String line) {
        return PROGRAM_PREFIX.matcher(line).replaceFirst("").toLowerCase(Locale.ROOT).contains("kvm");
    }

    /** "qemu-kvm: " or "/usr/libexec/qemu-kvm: ", the start of a QEMU message. */
    private static final Pattern PROGRAM_PREFIX = Pattern.compile("^[^\\s:]+: ");

    /**
     * Whether QEMU's output says KVM stopped the guest ("KVM internal error", an "emulation failure"):
     * QEMU then pauses the guest and keeps running (see {@link BootWatch}).
     */
    static boolean kvmStoppedTheGuest(String qemuOutput) {
        return qemuOutput.contains("KVM internal error");
    }

    static void markKvmFailed() {
        kvmFailed = true;
    }

    /** Whether a KVM boot failed in this JVM; with {@link #setKvmFailed}, lets a test start from either state. */
    static boolean kvmFailed() {
        return kvmFailed;
    }

    static void setKvmFailed(boolean failed) {
        kvmFailed = failed;
    }
}
