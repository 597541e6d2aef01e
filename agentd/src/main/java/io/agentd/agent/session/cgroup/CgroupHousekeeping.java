package io.agentd.agent.session.cgroup;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Queue;
import java.util.Set;
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
 * The mkdir and rmdir of {@link SessionCgroups}' cgroups that need no answer before the loop goes
 * on: the spares made for the next sessions, and the removal of what sessions released (a session
 * that exited may leave descendants behind, which keep its cgroup until they are gone; each pass
 * retries).
 *
 * <p>Making a cgroup (mkdir) and removing one (rmdir) are the dearest steps of a session's cgroup.
 * While few sessions run, the loop does them itself (one spare made at a release, for the next
 * start); once {@link #BUSY_SESSIONS} cgroups are live, a housekeeping thread does: it keeps a few
 * spares made and removes what sessions released, and the loop makes a cgroup itself only when no
 * spare is left. What the thread holds is still killed at shutdown and host loss: a released cgroup
 * stays in {@link SessionCgroups}' set of all until its rmdir succeeded, and the reaper keeps its
 * own reference to one whose session left descendants behind. The thread starts with the first busy
 * spell and ends when idle ({@link #offLoopThread}); it touches only the file system (no libc
 * binding, no loop state). Below the threshold the reaper's sweep removes what emptied on the loop,
 * so a lone session's leftover daemon makes no thread.
 */
final class CgroupHousekeeping {
    /** SessionCgroups': the session cgroups' lines are all under one name, as they were. */
    private static final Logger log = LoggerFactory.getLogger(SessionCgroups.class);
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

    private final CgroupRoot root;
    /** SessionCgroups' every cgroup made and not yet removed: a removal here takes it out. */
    private final Set<SessionCgroup> all;
    private final ExecutorService housekeeping;
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

    CgroupHousekeeping(CgroupRoot root, Set<SessionCgroup> all, ExecutorService housekeeping) {
        this.root = root;
        this.all = all;
        this.housekeeping = housekeeping;
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

    /** An empty cgroup made for the next session, or null when none is left. */
    Path takeSpare() {
        return spares.poll();
    }

    /** A session's cgroup was made: when busy and few spares are left, the housekeeping makes more. */
    void afterStart() {
        if (busy() && spares.size() < SPARES_LOW) {
            wakeHousekeeping();
        }
    }

    /**
     * {@link SessionCgroups#release}'s removal: with few sessions running the loop removes the
     * cgroup, and makes the next session's spare, itself; when busy it leaves both to the next
     * housekeeping pass, and wakes nothing for it: the next start that leaves few spares, or the
     * reaper's next sweep, does that ({@link #sweep}), so a flood wakes the thread every few
     * sessions, not twice for each.
     */
    void release(SessionCgroup cgroup) {
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
    void sweep() {
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

    /** The agent's last step begins: the housekeeping queue finished (or waited for in vain), nothing queued after. */
    void finish() {
        housekeeping.shutdown();
        try {
            if (!housekeeping.awaitTermination(HOUSEKEEPING_FINISH_MILLIS, TimeUnit.MILLISECONDS)) {
                log.warn("cgroup housekeeping still busy after {} ms; going on without it (a cgroup it makes or "
                        + "leaves now is the next agent's to remove at its start)", HOUSEKEEPING_FINISH_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The agent's last step ends: the queues forgotten (their cgroups are in the set of all), the spares removed. */
    void clear() {
        released.clear();
        toRemove.clear();
        for (Path spare; (spare = spares.poll()) != null; ) {
            root.cgroupAt(spare).remove();
        }
    }
}
