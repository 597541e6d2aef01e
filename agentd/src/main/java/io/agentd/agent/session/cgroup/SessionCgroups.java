package io.agentd.agent.session.cgroup;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.FailureKind;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's session cgroups: made with their limits before a spawn ({@link SessionCgroupLimits}),
 * killed together at shutdown and host loss, and removed once empty (a session that exited may
 * leave descendants behind, which keep its cgroup until they are gone; each housekeeping pass
 * retries). Called on the loop thread only.
 *
 * <p>Their mkdir and rmdir are the loop's while few sessions run and a housekeeping thread's once
 * many do ({@link CgroupHousekeeping}); the sessions' memory found full at a release or a failed
 * spawn is said by {@link SessionsMemoryFull}.
 */
public final class SessionCgroups {
    private static final Logger log = LoggerFactory.getLogger(SessionCgroups.class);
    /** How long a kill waits for a cgroup to empty before the caller goes on. */
    public static final long KILL_WAIT_MILLIS = 200;

    private final CgroupRoot root;
    /** Every cgroup made and not yet removed: live sessions', released ones on their way out. */
    private final Set<SessionCgroup> all = ConcurrentHashMap.newKeySet();
    private final CgroupHousekeeping housekeeping;
    private final SessionsMemoryFull memoryFull;

    /** @param root the subtree, or null: sessions without cgroups (and limits refused) */
    public SessionCgroups(CgroupRoot root) {
        this(root, CgroupHousekeeping.offLoopThread());
    }

    /** With the housekeeping work run by {@code housekeeping} (tests: run when the test says). */
    SessionCgroups(CgroupRoot root, ExecutorService housekeeping) {
        this.root = root;
        this.housekeeping = new CgroupHousekeeping(root, all, housekeeping);
        this.memoryFull = new SessionsMemoryFull(root);
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
        // A u64 of 2^63 or more (negative here) is no limit: nothing to apply, so nothing to refuse
        // where there is no cgroup or no controller for it.
        memoryMax = memoryMax != null && memoryMax < 0 ? null : memoryMax;
        pidsMax = pidsMax != null && pidsMax < 0 ? null : pidsMax;
        if (pidsMax != null && pidsMax == 0) {
            // The command is the cgroup's first task. clone3 would refuse it (EAGAIN), but the way
            // without clone3 (another architecture, an older kernel, a seccomp filter) moves it in
            // through cgroup.procs, which the kernel does not check against pids.max: it would run.
            throw CgroupRefusal.of(FailureKind.RESOURCE_LIMIT, null, "pids_max 0 leaves no room for the command"
                    + " itself (it is the first task of the session's cgroup)");
        }
        if (root == null) {
            if (memoryMax != null || pidsMax != null) {
                throw CgroupRefusal.of(FailureKind.RESOURCE_LIMIT, null, "memory_max and pids_max need a session"
                        + " cgroup, and this agent has none (no writable cgroup2, or --cgroup-root none)");
            }
            return SessionCgroup.NONE;
        }
        SessionCgroupLimits.requireController(root, "memory", "memory_max", memoryMax);
        SessionCgroupLimits.requireController(root, "pids", "pids_max", pidsMax);
        Path dir = housekeeping.takeSpare();
        if (dir == null) {
            dir = root.sessionsDir().resolve(root.nextName());
            if (Os.libc().mkdirat(LibC.AT_FDCWD, Os.cString(dir.toString()), 0755) != 0) {
                int err = Os.errno();
                throw CgroupRefusal.of(kindOf(err), err, "cannot make the session's cgroup " + dir + ": "
                        + Os.errnoDescription(err) + " (" + Os.errnoName(err) + ")");
            }
        }
        housekeeping.afterStart();
        SessionCgroup cgroup = root.cgroupAt(dir);
        try {
            SessionCgroupLimits.apply(dir, memoryMax, pidsMax);
            int err = cgroup.openFd();
            if (err != 0) {
                throw CgroupRefusal.of(kindOf(err), err, "cannot open " + dir + ": " + Os.errnoDescription(err)
                        + " (" + Os.errnoName(err) + ")");
            }
        } catch (CgroupRefusal r) {
            cgroup.remove();
            throw r;
        }
        all.add(cgroup);
        return cgroup;
    }

    /**
     * A session cgroup the kernel would not make or the agent could not open: a limit (its
     * cgroup.max.descendants or depth, memory, the agent's open files) is resource_limit, as
     * PROTOCOL.md types those errnos; anything else is other.
     */
    private static FailureKind kindOf(int err) {
        return err == LibC.EAGAIN || err == LibC.ENOMEM || err == LibC.ENOSPC || err == LibC.EMFILE
                || err == LibC.ENFILE ? FailureKind.RESOURCE_LIMIT : FailureKind.OTHER;
    }

    /**
     * The session is done with its cgroup (failed spawn, exit, abandon): removed now if empty, else
     * once its last process is gone ({@link CgroupHousekeeping#release}).
     */
    public void release(SessionCgroup cgroup) {
        if (cgroup == SessionCgroup.NONE) {
            return;
        }
        cgroup.closeFd();
        if (cgroup.oomKillSeen()) {
            memoryFull.sayIfTheSessionsAreFull(cgroup);
        }
        housekeeping.release(cgroup);
    }

    /**
     * The failure of a spawn in {@code cgroup}: a step the kernel refused memory (ENOMEM, typed
     * out_of_memory by its errno) says that the sessions' memory is full, and what fills it, when
     * that was the sessions' limit (their OOM count grew). So fails an exec at the sessions' limit
     * when no process of theirs is left to kill: the child, before its exec, shares the agent's
     * memory, and the OOM killer never takes a task in the middle of a vfork (oom_badness skips it),
     * so the charge fails instead. Any other failure is unchanged.
     */
    public ExecFailed spawnFailure(SessionCgroup cgroup, ExecFailed failed) {
        return memoryFull.spawnFailure(cgroup, failed);
    }

    /** From the reaper's sweep, twice a second: {@link CgroupHousekeeping#sweep}. */
    public void sweep() {
        housekeeping.sweep();
    }

    /**
     * The agent's last step: the housekeeping queue finished, everything in every session cgroup
     * killed, and the cgroups and spares removed once empty (those still populated after the wait are
     * left to the next agent's leftover kill).
     */
    public void killAndRemoveAll() {
        housekeeping.finish();
        for (SessionCgroup c : all) {
            c.kill(KILL_WAIT_MILLIS);
        }
        all.removeIf(SessionCgroup::remove); // every one made and not removed: released or not
        housekeeping.clear();
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
