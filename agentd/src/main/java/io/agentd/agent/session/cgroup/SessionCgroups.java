package io.agentd.agent.session.cgroup;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.FailureKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's session cgroups: made with their limits before a spawn, killed together at shutdown
 * and host loss, and removed once empty (a session that exited may leave descendants behind, which
 * keep its cgroup until they are gone; each housekeeping pass retries). Called on the loop thread only.
 *
 * <p>Making a cgroup (mkdir) and removing one (rmdir) are the dearest steps of a session's cgroup
 * and neither needs an answer before the loop goes on. While few sessions run, the loop does them
 * itself (one spare made at a release, for the next start); once {@link #BUSY_SESSIONS} cgroups are
 * live, a housekeeping thread does: it keeps a few spares made and removes what sessions released,
 * and the loop makes a cgroup itself only when no spare is left. What the thread holds is still
 * killed at shutdown and host loss: a released cgroup stays in {@link #all} until its rmdir
 * succeeded, and the reaper keeps its own reference to one whose session left descendants behind.
 * The thread starts with the first busy spell and ends when idle ({@link #offLoopThread}); it
 * touches only the file system (no libc binding, no loop state). Below the threshold the reaper's
 * sweep removes what emptied on the loop, so a lone session's leftover daemon makes no thread.
 */
public final class SessionCgroups {
    private static final Path PROC_SWAPS = Path.of("/proc/swaps");
    private static final Logger log = LoggerFactory.getLogger(SessionCgroups.class);
    /** How long a kill waits for a cgroup to empty before the caller goes on. */
    public static final long KILL_WAIT_MILLIS = 200;
    private static final int ERANGE = 34;
    /** Empty cgroups kept ready when busy: a burst of starts this long needs no mkdir on the loop. */
    static final int SPARES = 4;
    /** Fewer spares than this left after a start wakes the housekeeping (otherwise the next sweep does). */
    private static final int SPARES_LOW = 2;
    /** Live session cgroups from which on their mkdir and rmdir are the housekeeping thread's ({@link #busy}). */
    static final int BUSY_SESSIONS = 8;
    /** How long the housekeeping thread waits for work before it ends (a new one starts with the next). */
    private static final long HOUSEKEEPING_IDLE_MILLIS = 2000;
    /** How long the agent's last step waits for the housekeeping thread's queue to finish. */
    private static final long HOUSEKEEPING_FINISH_MILLIS = 2000;
    /** At most one line a minute says that the sessions' memory is full. */
    private static final long FULL_LINE_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(60);

    private final CgroupRoot root;
    private final ExecutorService housekeeping;
    /** Every cgroup made and not yet removed: live sessions', released ones on their way out. */
    private final Set<SessionCgroup> all = ConcurrentHashMap.newKeySet();
    /** Released by their sessions, their rmdir not tried yet (the loop adds, the housekeeping takes). */
    private final Queue<SessionCgroup> released = new ConcurrentLinkedQueue<>();
    /** Released and still populated at their rmdir: tried again when the reaper's sweep asks. */
    private final Queue<SessionCgroup> toRemove = new ConcurrentLinkedQueue<>();
    /** Empty cgroups made for the next sessions (the housekeeping adds, the loop takes). */
    private final Queue<Path> spares = new ConcurrentLinkedQueue<>();
    /** A housekeeping pass is queued and has not begun: what is asked meanwhile, it does. */
    private final AtomicBoolean passQueued = new AtomicBoolean();
    /** The sweep asks for the populated ones to be looked at again (twice a second, not every pass). */
    private volatile boolean pruneWanted;
    private boolean threadRefusalLogged;
    /** The sessions' own OOM count ({@link CgroupRoot#sessionsOoms}) when last read. */
    private long sessionsOomsSeen;
    /** When the last line about the sessions' full memory was logged (System.nanoTime), and whether one was. */
    private long fullLineNanos;
    private boolean fullLineLogged;
    /** Sessions OOM-killed at the sessions' limit since that line, not logged. */
    private int fullUnsaid;

    /** @param root the subtree, or null: sessions without cgroups (and limits refused) */
    public SessionCgroups(CgroupRoot root) {
        this(root, offLoopThread());
    }

    /** With the housekeeping work run by {@code housekeeping} (tests: run when the test says). */
    SessionCgroups(CgroupRoot root, ExecutorService housekeeping) {
        this.root = root;
        this.housekeeping = housekeeping;
        this.sessionsOomsSeen = root == null ? 0 : root.sessionsOoms(); // an earlier agent's are not this one's
    }

    /**
     * One daemon thread, made when work comes and ended after {@link #HOUSEKEEPING_IDLE_MILLIS} without
     * any, so an idle agent has the threads it had. It is made by the thread that submits, the loop,
     * whose credentials never change (a thread copies its creator's).
     */
    static ExecutorService offLoopThread() {
        ThreadPoolExecutor pool = new ThreadPoolExecutor(1, 1, HOUSEKEEPING_IDLE_MILLIS, TimeUnit.MILLISECONDS,
                new LinkedBlockingQueue<>(), task -> {
                    Thread t = new Thread(task, "agentd-cgroups");
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        return pool;
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
            throw refusal(FailureKind.RESOURCE_LIMIT, null, "pids_max 0 leaves no room for the command itself"
                    + " (it is the first task of the session's cgroup)");
        }
        if (root == null) {
            if (memoryMax != null || pidsMax != null) {
                throw refusal(FailureKind.RESOURCE_LIMIT, null, "memory_max and pids_max need a session cgroup, "
                        + "and this agent has none (no writable cgroup2, or --cgroup-root none)");
            }
            return SessionCgroup.NONE;
        }
        requireController("memory", "memory_max", memoryMax);
        requireController("pids", "pids_max", pidsMax);
        Path dir = spares.poll();
        if (dir == null) {
            dir = root.sessionsDir().resolve(root.nextName());
            if (Os.libc().mkdirat(LibC.AT_FDCWD, Os.cString(dir.toString()), 0755) != 0) {
                int err = Os.errno();
                throw refusal(kindOf(err), err, "cannot make the session's cgroup " + dir + ": "
                        + Os.errnoDescription(err) + " (" + Os.errnoName(err) + ")");
            }
        }
        if (busy() && spares.size() < SPARES_LOW) {
            wakeHousekeeping();
        }
        SessionCgroup cgroup = root.cgroupAt(dir);
        try {
            if (memoryMax != null) {
                limit(dir, "memory.max", "memory_max", memoryMax);
                limitSwap(dir, PROC_SWAPS);
            }
            if (pidsMax != null) {
                limit(dir, "pids.max", "pids_max", pidsMax);
            }
            int err = cgroup.openFd();
            if (err != 0) {
                throw refusal(kindOf(err), err, "cannot open " + dir + ": " + Os.errnoDescription(err)
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

    private void requireController(String controller, String field, Long value) throws CgroupRefusal {
        if (value != null && !root.hasController(controller)) {
            String why = root.whyNot(controller);
            throw refusal(FailureKind.RESOURCE_LIMIT, null, field + " needs the " + controller
                    + " controller, which is not available in " + root.dir() + (why == null ? "" : ": " + why));
        }
    }

    private static void limit(Path dir, String file, String field, long value) throws CgroupRefusal {
        String text = Long.toString(value);
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
     * The session is done with its cgroup (failed spawn, exit, abandon): removed now if empty, else
     * once its last process is gone. With few sessions running the loop removes it, and makes the
     * next session's spare, itself; when busy it leaves both to the next housekeeping pass, and wakes
     * nothing for it: the next start that leaves few spares, or the reaper's next sweep, does that
     * ({@link #sweep}), so a flood wakes the thread every few sessions, not twice for each.
     */
    public void release(SessionCgroup cgroup) {
        if (cgroup == SessionCgroup.NONE) {
            return;
        }
        cgroup.closeFd();
        if (cgroup.oomKillSeen()) {
            sayIfTheSessionsAreFull(cgroup);
        }
        if (busy()) {
            released.add(cgroup);
            return;
        }
        if (!removed(cgroup)) {
            toRemove.add(cgroup);
        }
        if (spares.isEmpty()) {
            makeSpare();
        }
    }

    /**
     * A session's process was OOM-killed (its exit says oom_killed): when it was the sessions' own
     * limit that the kernel met (their cgroup's memory.events.local oom grew), not the session's
     * memory_max, one warning says what fills the sessions' memory ({@link #sayTheSessionsAreFull}).
     */
    private void sayIfTheSessionsAreFull(SessionCgroup cgroup) {
        long ooms = root.sessionsOoms();
        if (ooms > sessionsOomsSeen) {
            sayTheSessionsAreFull(cgroup, ooms, root.memoryState());
        }
    }

    /**
     * One warning that the sessions' memory is full, with what fills it ({@code state}), most often
     * files in tmpfs that sessions left: they stay charged to the sessions until removed, and the
     * next sessions are OOM-killed at once. At most one a minute: the exits say oom_killed each, and
     * the next line counts the ones in between.
     */
    private void sayTheSessionsAreFull(SessionCgroup cgroup, long ooms, String state) {
        sessionsOomsSeen = ooms;
        long now = System.nanoTime();
        if (fullLineLogged && now - fullLineNanos < FULL_LINE_INTERVAL_NANOS) {
            fullUnsaid++;
            return;
        }
        log.warn("the sessions' memory is full: a process of {} was OOM-killed or refused memory at the sessions'"
                + " limit; {}{}", cgroup.dir().getFileName(), state, fullUnsaid == 0 ? ""
                        : "; " + fullUnsaid + " more session(s) met it since the last such line");
        fullLineLogged = true;
        fullLineNanos = now;
        fullUnsaid = 0;
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
        if (root == null || !"ENOMEM".equals(failed.errnoName())) {
            return failed;
        }
        long ooms = root.sessionsOoms();
        if (ooms <= sessionsOomsSeen) {
            return failed;
        }
        String state = root.memoryState();
        sayTheSessionsAreFull(cgroup, ooms, state);
        return new ExecFailed(failed.kind(), failed.errno(), failed.errnoName(), failed.message()
                + "; the sessions' memory is full: " + state, failed.stage());
    }

    /**
     * Whether so many session cgroups are live that the loop's time is what every host waits for: then
     * their mkdir and rmdir go to the housekeeping thread. Below it the loop does them itself, since
     * handing them over costs more CPU than it saves (BENCHMARKS.md, twentieth session).
     */
    private boolean busy() {
        return all.size() >= BUSY_SESSIONS;
    }

    /**
     * From the reaper's sweep, twice a second: what was released since, and what has emptied, is
     * removed, by the housekeeping when busy, else here on the loop as before (and without a thread).
     */
    public void sweep() {
        if (!toRemove.isEmpty()) {
            pruneWanted = true;
        }
        if (!pruneWanted && released.isEmpty()) {
            return;
        }
        if (busy()) {
            wakeHousekeeping();
        } else {
            removeReleased();
        }
    }

    /**
     * A housekeeping pass queued, unless one is queued already: a flood of starts and exits wakes the
     * thread once per pass, not once per session. After the agent's last step, nothing is queued. A
     * thread the kernel will not start (the guest's thread or pid limit reached, say by a session's
     * fork bomb) is not the agent's end: the loop does the pass itself, and says so once.
     */
    private void wakeHousekeeping() {
        if (!passQueued.compareAndSet(false, true)) {
            return;
        }
        try {
            housekeeping.execute(this::housekeepingPass);
        } catch (RejectedExecutionException e) {
            passQueued.set(false); // after killAndRemoveAll: what was not removed is the next agent's leftover
        } catch (OutOfMemoryError e) { // "unable to create native thread": the task was not queued
            if (!threadRefusalLogged) {
                threadRefusalLogged = true;
                log.warn("no cgroup housekeeping thread ({}): the loop makes and removes session cgroups itself "
                        + "while the kernel refuses one", e.getMessage());
            }
            housekeepingPass();
        }
    }

    /**
     * On the housekeeping thread (or the loop, see above): the released cgroups removed, and the
     * spares made up while busy. A bug here is logged and ends nothing: the next pass tries again.
     */
    private void housekeepingPass() {
        passQueued.set(false); // what the loop asks from now on is another pass
        try {
            removeReleased();
            while (busy() && spares.size() < SPARES && !housekeeping.isShutdown() && makeSpare()) {
                // made one
            }
        } catch (RuntimeException e) {
            log.warn("cgroup housekeeping failed: {}", e.toString());
        }
    }

    /**
     * The cgroups left populated earlier removed if they have emptied (when the sweep asked), the ones
     * released since removed or kept while populated. Safe on both threads at once: each queue hands
     * a cgroup to one taker, and a second rmdir of a removed one does nothing.
     */
    private void removeReleased() {
        if (pruneWanted) {
            pruneWanted = false;
            toRemove.removeIf(c -> !c.populated() && removed(c)); // a read is cheaper than a refused rmdir
        }
        for (SessionCgroup c; (c = released.poll()) != null; ) {
            if (!removed(c)) {
                toRemove.add(c);
            }
        }
    }

    /** One more empty cgroup for the next sessions; false when it cannot be made. */
    private boolean makeSpare() {
        Path dir = root.sessionsDir().resolve(root.nextName());
        try {
            Files.createDirectory(dir);
        } catch (Exception e) {
            log.debug("no spare cgroup: {}", e.toString()); // the next session makes its own, or says why
            return false;
        }
        spares.add(dir);
        return true;
    }

    /** rmdir, which the kernel refuses (EBUSY) while processes are inside; true once gone. */
    private boolean removed(SessionCgroup cgroup) {
        if (!cgroup.remove()) {
            return false;
        }
        all.remove(cgroup);
        return true;
    }

    /**
     * The agent's last step: the housekeeping queue finished, everything in every session cgroup
     * killed, and the cgroups and spares removed once empty (those still populated after the wait are
     * left to the next agent's leftover kill).
     */
    public void killAndRemoveAll() {
        housekeeping.shutdown();
        try {
            if (!housekeeping.awaitTermination(HOUSEKEEPING_FINISH_MILLIS, TimeUnit.MILLISECONDS)) {
                log.warn("cgroup housekeeping still busy after {} ms; going on without it (a cgroup it makes or "
                        + "leaves now is the next agent's to remove at its start)", HOUSEKEEPING_FINISH_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (SessionCgroup c : all) {
            c.kill(KILL_WAIT_MILLIS);
        }
        all.removeIf(SessionCgroup::remove); // every one made and not removed: released or not
        released.clear();
        toRemove.clear();
        for (Path spare; (spare = spares.poll()) != null; ) {
            root.cgroupAt(spare).remove();
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
