package io.agentd.agent.spawn;

import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.ProcNumber;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernel's last capability, for the strict profile's bounding-set loop (last_cap in
 * native-shim/agentd-shim.h): an EINVAL from PR_CAPBSET_READ at or below it is a refusal, a seccomp
 * filter's, and fails the spawn; above it, the end of the set. The agent reads it once, when its
 * Spawner is made: the child reads no file (rule 1 in agentd-shim.c).
 */
final class LastCapability {
    private static final Logger log = LoggerFactory.getLogger(Spawner.class);

    static final Path KERNEL_FILE = Path.of("/proc/sys/kernel/cap_last_cap");

    /** capget has its own number on each machine; -1 elsewhere. */
    private static final long SYS_CAPGET = switch (System.getProperty("os.arch")) {
        case "amd64", "x86_64" -> 125;
        case "aarch64" -> 90;
        default -> -1;
    };
    private static final int LINUX_CAPABILITY_VERSION_3 = 0x20080522;

    private LastCapability() {}

    /**
     * /proc/sys/kernel/cap_last_cap (Linux 3.2). Without it (no /proc mounted), the highest capability
     * in this process's permitted set ({@link #highestHeld}): the kernel's last for an agent that
     * holds it, as a root agent whose bounding set was not cut (the guest's) does; for one that does
     * not, a lower bound, and a filter's EINVAL above it is taken for the end of the set, as before
     * the agent knew the number. 0 when neither can be read: the shim then goes by CAP_AUDIT_READ (37)
     * alone.
     */
    static int ofKernel() {
        return ofKernel(KERNEL_FILE);
    }

    /** {@link #ofKernel()} with the kernel's file at {@code file} (a test's missing one). */
    static int ofKernel(Path file) {
        OptionalInt fromProc = read(file);
        if (fromProc.isPresent()) {
            return fromProc.getAsInt();
        }
        int held = Math.max(highestHeld(), 0);
        log.warn("spawn: {} cannot be read (no /proc?); the strict profile takes capability {} (the highest the"
                + " agent holds, or CAP_AUDIT_READ) for the kernel's last", file, Math.max(held, 37));
        return held;
    }

    /** The number in {@code file}; empty when it cannot be read or is no capability number. */
    static OptionalInt read(Path file) {
        OptionalLong last = ProcNumber.read(file);
        return last.isPresent() && last.getAsLong() >= 0 && last.getAsLong() <= Integer.MAX_VALUE
                ? OptionalInt.of((int) last.getAsLong()) : OptionalInt.empty();
    }

    /**
     * The highest capability in this process's permitted set (capget), which the kernel knows (it
     * holds no other); -1 when the set is empty or capget fails.
     */
    static int highestHeld() {
        if (SYS_CAPGET < 0) {
            return -1;
        }
        ByteBuffer header = Os.allocate(8); // version, pid (0: this thread)
        header.putInt(0, LINUX_CAPABILITY_VERSION_3);
        ByteBuffer data = Os.allocate(2 * 12); // two of {effective, permitted, inheritable}
        long r = Os.libc().syscall(SYS_CAPGET, Os.address(header), Os.address(data));
        Reference.reachabilityFence(header); // the kernel read it through its address
        if (r != 0) {
            return -1;
        }
        long permitted = Integer.toUnsignedLong(data.getInt(4)) | Integer.toUnsignedLong(data.getInt(12 + 4)) << 32;
        return 63 - Long.numberOfLeadingZeros(permitted); // -1 for none
    }
}
