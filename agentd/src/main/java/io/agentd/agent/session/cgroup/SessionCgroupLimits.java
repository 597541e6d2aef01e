package io.agentd.agent.session.cgroup;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.FailureKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The limits a request asks for (memory_max, pids_max) written into its session's new cgroup, and
 * the refusal when one cannot be applied: no controller for it, a value the kernel refuses, or a
 * memory limit that swap would get around. Static.
 */
final class SessionCgroupLimits {
    private static final Path PROC_SWAPS = Path.of("/proc/swaps");
    private static final int ERANGE = 34;

    private SessionCgroupLimits() {
    }

    /** A limit asked for ({@code value} not null) needs {@code controller} in the subtree. */
    static void requireController(CgroupRoot root, String controller, String field, Long value)
            throws CgroupRefusal {
        if (value != null && !root.hasController(controller)) {
            String why = root.whyNot(controller);
            throw CgroupRefusal.of(FailureKind.RESOURCE_LIMIT, null, field + " needs the " + controller
                    + " controller, which is not available in " + root.dir() + (why == null ? "" : ": " + why));
        }
    }

    /** The limits (null: none) written into the cgroup at {@code dir}, swap limited with memory. */
    static void apply(Path dir, Long memoryMax, Long pidsMax) throws CgroupRefusal {
        if (memoryMax != null) {
            limit(dir, "memory.max", "memory_max", memoryMax);
            limitSwap(dir, PROC_SWAPS);
        }
        if (pidsMax != null) {
            limit(dir, "pids.max", "pids_max", pidsMax);
        }
    }

    private static void limit(Path dir, String file, String field, long value) throws CgroupRefusal {
        String text = Long.toString(value);
        int err = CgroupFs.write(dir.resolve(file), text);
        if (err != 0) {
            FailureKind kind = err == LibC.EINVAL || err == ERANGE ? FailureKind.BAD_ARGS : FailureKind.RESOURCE_LIMIT;
            throw CgroupRefusal.of(kind, err, field + " " + text + " refused by the kernel (" + file + "): "
                    + Os.errnoDescription(err) + " (" + Os.errnoName(err) + ")");
        }
    }

    /**
     * A memory limit is one on memory: without memory.swap.max at 0 the kernel would swap past it.
     * A kernel that does not account swap per cgroup has no such file, which is fine while the guest
     * has no swap to go to ({@code procSwaps} lists none); otherwise the limit cannot hold, and is
     * refused rather than ignored.
     */
    static void limitSwap(Path dir, Path procSwaps) throws CgroupRefusal {
        int err = CgroupFs.write(dir.resolve("memory.swap.max"), "0");
        if (err == 0 || err == LibC.ENOENT && !swapConfigured(procSwaps)) {
            return;
        }
        throw CgroupRefusal.of(FailureKind.RESOURCE_LIMIT, err, "memory_max cannot hold: swap cannot be limited with it"
                + " (memory.swap.max: " + Os.errnoDescription(err) + ")" + (err == LibC.ENOENT
                        ? "; this kernel does not account swap per cgroup, and the guest has swap (" + procSwaps + ")"
                        : ""));
    }

    /** Whether {@code procSwaps} (/proc/swaps) lists a swap area below its header; unreadable: assumed so. */
    static boolean swapConfigured(Path procSwaps) {
        try {
            return Files.readAllLines(procSwaps).stream().skip(1).anyMatch(line -> !line.isBlank());
        } catch (IOException | RuntimeException e) {
            return true;
        }
    }
}
