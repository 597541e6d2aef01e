package io.agentd.agent.session.cgroup;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.FailureKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's session cgroups: made with their limits before a spawn, killed together at shutdown
 * and host loss, and removed once empty (a session that exited may leave descendants behind, which
 * keep its cgroup until they are gone; the reaper's sweep retries). Loop thread only.
 */
public final class SessionCgroups {
    private static final Path PROC_SWAPS = Path.of("/proc/swaps");
    private static final Logger log = LoggerFactory.getLogger(SessionCgroups.class);
    /** How long a kill waits for a cgroup to empty before the caller goes on. */
    public static final long KILL_WAIT_MILLIS = 200;
    private static final int ERANGE = 34;

    private final CgroupRoot root;
    /** Every cgroup made and not yet removed: live sessions' and those left to empty. */
    private final Set<SessionCgroup> all = new LinkedHashSet<>();
    /** Released by their sessions, removed once empty. */
    private final List<SessionCgroup> toRemove = new ArrayList<>();
    /**
     * An empty cgroup made when the last session ended, for the next one: making a cgroup is the
     * dearest of its steps, and then it is not between a request and its spawn. Null when there is none.
     */
    private Path spare;

    /** @param root the subtree, or null: sessions without cgroups (and limits refused) */
    public SessionCgroups(CgroupRoot root) {
        this.root = root;
    }

    public boolean enabled() {
        return root != null;
    }

    /**
     * A new cgroup with these limits (null: none), its directory open for the spawn; NONE when
     * there are no cgroups and no limits were asked for.
     *
     * @throws CgroupRefusal a limit that cannot be applied (no controller, a value the kernel refuses)
     *                       or a cgroup that cannot be made
     */
    public SessionCgroup create(Long memoryMax, Long pidsMax) throws CgroupRefusal {
        if (root == null) {
            if (memoryMax != null || pidsMax != null) {
                throw refusal(FailureKind.RESOURCE_LIMIT, null, "memory_max and pids_max need a session cgroup, "
                        + "and this agent has none (no writable cgroup2, or --cgroup-root none)");
            }
            return SessionCgroup.NONE;
        }
        requireController("memory", "memory_max", memoryMax);
        requireController("pids", "pids_max", pidsMax);
        Path dir = spare != null ? spare : root.dir().resolve(root.nextName());
        spare = null;
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectory(dir);
            }
        } catch (Exception e) {
            throw refusal(FailureKind.OTHER, null, "cannot make the session's cgroup " + dir + ": " + e);
        }
        SessionCgroup cgroup = root.cgroupAt(dir);
        try {
            if (memoryMax != null) {
                limit(dir, "memory.max", "memory_max", memoryMax);
                if (memoryMax >= 0) { // u64 past 2^63 is "no limit": swap stays as it is
                    limitSwap(dir, PROC_SWAPS);
                }
            }
            if (pidsMax != null) {
                limit(dir, "pids.max", "pids_max", pidsMax);
            }
            int err = cgroup.openFd();
            if (err != 0) {
                throw refusal(FailureKind.OTHER, err, "cannot open " + dir + ": "
                        + Os.errnoName(err));
            }
        } catch (CgroupRefusal r) {
            cgroup.remove();
            throw r;
        }
        all.add(cgroup);
        return cgroup;
    }

    private void requireController(String controller, String field, Long value) throws CgroupRefusal {
        if (value != null && !root.hasController(controller)) {
            throw refusal(FailureKind.RESOURCE_LIMIT, null, field + " needs the " + controller
                    + " controller, which is not available in " + root.dir());
        }
    }

    private static void limit(Path dir, String file, String field, long value) throws CgroupRefusal {
        String text = value < 0 ? "max" : Long.toString(value); // u64 past 2^63: no limit, in practice
        int err = CgroupFs.write(dir.resolve(file), text);
        if (err != 0) {
            FailureKind kind = err == LibC.EINVAL || err == ERANGE ? FailureKind.BAD_ARGS : FailureKind.RESOURCE_LIMIT;
            throw refusal(kind, err, field + " " + text + " refused by the kernel (" + file + "): "
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
        throw refusal(FailureKind.RESOURCE_LIMIT, err, "memory_max cannot hold: swap cannot be limited with it"
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

    private static CgroupRefusal refusal(FailureKind kind, Integer errno, String message) {
        return new CgroupRefusal(ExecFailed.of(kind, errno, errno == null ? null : Os.errnoName(errno), message,
                "cgroup"));
    }

    /**
     * The session is done with its cgroup (failed spawn, exit, abandon): removed now if empty,
     * else once its last process is gone ({@link #pruneEmpty}).
     */
    public void release(SessionCgroup cgroup) {
        if (cgroup == SessionCgroup.NONE) {
            return;
        }
        cgroup.closeFd();
        if (cgroup.remove()) {
            all.remove(cgroup);
        } else {
            toRemove.add(cgroup);
        }
        makeSpare();
    }

    private void makeSpare() {
        if (spare != null) {
            return;
        }
        Path dir = root.dir().resolve(root.nextName());
        try {
            Files.createDirectory(dir);
            spare = dir;
        } catch (Exception e) {
            log.debug("no spare cgroup: {}", e.toString()); // the next session makes its own, or says why
        }
    }

    /** From the reaper's sweep: removes released cgroups that have emptied. */
    public void pruneEmpty() {
        toRemove.removeIf(c -> {
            if (c.populated() || !c.remove()) {
                return false;
            }
            all.remove(c);
            return true;
        });
    }

    /**
     * The agent's last step: everything in every session cgroup killed, and the cgroups removed once
     * empty (those still populated after the wait are left to the next agent's leftover kill).
     */
    public void killAndRemoveAll() {
        for (SessionCgroup c : all) {
            c.kill(KILL_WAIT_MILLIS);
            toRemove.remove(c);
            toRemove.add(c);
        }
        pruneEmpty();
        if (spare != null) {
            root.cgroupAt(spare).remove();
            spare = null;
        }
    }

    /** Shutdown's SIGKILL and host loss: everything in every session cgroup, killed. */
    public void killAll() {
        if (all.isEmpty()) {
            return;
        }
        for (SessionCgroup c : all) {
            c.kill(0);
        }
        log.info("killed everything in {} session cgroup(s)", all.size());
    }
}
