package io.agentd.agent.session.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the loop does itself and what it leaves to the housekeeping thread (mkdir of spares, rmdir
 * of released cgroups), while few sessions run and when many do, on a fake subtree (a temporary
 * directory with a cgroup.procs file, given as --cgroup-root): its session cgroups are plain
 * directories, and one a file is left in stands for one whose session left a process behind (rmdir
 * refuses both). The housekeeping runs when the test says, so each test sees what the loop did on
 * its own.
 */
class SessionCgroupsHousekeepingTest {
    private Path root;
    private HousekeepingOnCue housekeeping;
    private SessionCgroups cgroups;

    @BeforeEach
    void fakeSubtree() throws Exception {
        root = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "cgroup-root-");
        Files.writeString(root.resolve("cgroup.procs"), "");
        Files.writeString(root.resolve("cgroup.controllers"), "");
        CgroupRoot cgroupRoot = CgroupRoot.open(root.toString());
        assertNotNull(cgroupRoot, "a directory with a writable cgroup.procs is taken as the subtree");
        housekeeping = new HousekeepingOnCue();
        cgroups = new SessionCgroups(cgroupRoot, housekeeping);
    }

    @Test
    void withFewSessionsTheLoopRemovesACgroupAndMakesTheNextOnesSpareItself() throws Exception {
        SessionCgroup ended = cgroups.create(null, null);
        cgroups.release(ended);
        assertFalse(Files.exists(ended.dir()), ended.dir() + " left by the loop");
        Set<Path> spare = sessionDirs();
        assertEquals(1, spare.size(), "one spare made at the release: " + spare);
        SessionCgroup next = cgroups.create(null, null);
        assertEquals(spare, Set.of(next.dir()), "the next session runs in the spare");
        assertEquals(0, housekeeping.queued(), "the housekeeping was woken with one session running");
    }

    @Test
    void whenBusyAReleasedCgroupIsRemovedByTheHousekeepingNotByTheLoop() throws Exception {
        busy();
        SessionCgroup session = cgroups.create(null, null);
        housekeeping.runQueued();
        cgroups.release(session);
        assertTrue(Files.isDirectory(session.dir()), "the loop removed " + session.dir() + " itself");
        cgroups.sweep();
        housekeeping.runQueued();
        assertFalse(Files.exists(session.dir()), session.dir() + " left after the housekeeping ran");
    }

    /** A flood of short sessions: the thread is woken every few sessions, not for each release. */
    @Test
    void whenBusyAReleaseWakesNothingAndTheStartThatLeavesFewSparesWakesOnePassForBoth() throws Exception {
        busy();
        SessionCgroup ended = cgroups.create(null, null);
        housekeeping.runQueued();
        cgroups.release(ended);
        assertEquals(0, housekeeping.queued(), "a release woke the housekeeping");
        cgroups.create(null, null);
        cgroups.create(null, null);
        assertEquals(0, housekeeping.queued(), "a start woke the housekeeping with spares left");
        cgroups.create(null, null);
        assertEquals(1, housekeeping.queued(), "the start that left one spare woke no pass");
        cgroups.create(null, null);
        assertEquals(1, housekeeping.queued(), "one pass queued is enough");
        Set<Path> before = sessionDirs();
        housekeeping.runQueued();
        assertFalse(Files.exists(ended.dir()), "the pass left the released cgroup");
        Set<Path> made = sessionDirs();
        made.removeAll(before);
        assertEquals(CgroupHousekeeping.SPARES, made.size(), "the spares made up: " + made);
    }

    @Test
    void whenBusyTheNextSessionsTakeSparesMadeOffTheLoop() throws Exception {
        busy();
        Set<Path> live = sessionDirs();
        SessionCgroup first = cgroups.create(null, null);
        assertTrue(Files.isDirectory(first.dir()), "with no spare yet the loop makes one itself");
        assertEquals(live.size() + 1, sessionDirs().size());
        housekeeping.runQueued();
        Set<Path> spares = sessionDirs();
        spares.removeAll(live);
        spares.remove(first.dir());
        assertEquals(CgroupHousekeeping.SPARES, spares.size(), "spares made by the housekeeping: " + spares);

        List<Path> taken = new ArrayList<>();
        for (int i = 0; i < CgroupHousekeeping.SPARES; i++) {
            taken.add(cgroups.create(null, null).dir());
        }
        assertEquals(spares, Set.copyOf(taken), "the next sessions run in the spares");
        assertEquals(live.size() + 1 + CgroupHousekeeping.SPARES, sessionDirs().size(),
                "the loop made no cgroup while spares were left");
        Path fromTheLoop = cgroups.create(null, null).dir();
        assertTrue(Files.isDirectory(fromTheLoop) && !spares.contains(fromTheLoop), "none left: the loop makes one");
    }

    /** Below the threshold a leftover is the sweep's, on the loop: a lone session's daemon makes no thread. */
    @Test
    void withFewSessionsACgroupThatStillHoldsAProcessIsRemovedByTheSweepOnceEmpty() throws Exception {
        SessionCgroup session = cgroups.create(null, null);
        Path leftBehind = Files.writeString(session.dir().resolve("left-behind"), "");
        cgroups.release(session);
        assertTrue(Files.isDirectory(session.dir()), "removed while not empty");
        cgroups.sweep();
        assertTrue(Files.isDirectory(session.dir()), "pruned while not empty");

        Files.delete(leftBehind);
        cgroups.sweep();
        assertFalse(Files.exists(session.dir()), "left after it emptied");
        assertEquals(0, housekeeping.queued(), "the housekeeping was woken with one session");
    }

    @Test
    void whenBusyACgroupThatStillHoldsAProcessIsRemovedByTheHousekeepingOnceEmpty() throws Exception {
        busy();
        SessionCgroup session = cgroups.create(null, null);
        housekeeping.runQueued();
        Path leftBehind = Files.writeString(session.dir().resolve("left-behind"), "");
        cgroups.release(session);
        cgroups.sweep();
        housekeeping.runQueued();
        assertTrue(Files.isDirectory(session.dir()), "removed while not empty");
        cgroups.sweep();
        housekeeping.runQueued();
        assertTrue(Files.isDirectory(session.dir()), "pruned while not empty");

        Files.delete(leftBehind);
        cgroups.sweep();
        housekeeping.runQueued();
        assertFalse(Files.exists(session.dir()), "left after it emptied");
    }

    /** The guest's thread or pid limit reached (a session's fork bomb, say): the loop does the work, the agent lives. */
    @Test
    void aHousekeepingThreadTheKernelRefusesLeavesTheWorkToTheLoop() throws Exception {
        busy();
        housekeeping.refuseThreads = true;
        SessionCgroup session = cgroups.create(null, null); // wakes: the thread is refused
        Set<Path> made = sessionDirs();
        assertEquals(CgroupHousekeeping.BUSY_SESSIONS + 1 + CgroupHousekeeping.SPARES, made.size(),
                "the spares were not made on the loop: " + made);
        cgroups.release(session);
        cgroups.sweep();
        assertFalse(Files.exists(session.dir()), "the sweep's pass was not done on the loop");
        housekeeping.refuseThreads = false;
        cgroups.create(null, null);
        cgroups.create(null, null);
        cgroups.create(null, null);
        assertEquals(1, housekeeping.queued(), "after the refusal a later wake queued no pass");
    }

    @Test
    void theAgentsLastStepFinishesTheHousekeepingAndRemovesEverySpare() throws Exception {
        busy();
        SessionCgroup ended = cgroups.create(null, null);
        housekeeping.runQueued();
        cgroups.release(ended); // queued, not run
        assertTrue(Files.isDirectory(ended.dir()));

        cgroups.killAndRemoveAll();

        assertEquals(Set.of(), sessionDirs(), "the ended session's, the running ones' and the spares are gone");
        assertTrue(housekeeping.isShutdown());
        SessionCgroup late = cgroups.create(null, null);
        cgroups.release(late); // after the last step: nothing queued, nothing thrown
        cgroups.sweep();
        cgroups.killAndRemoveAll(); // the spare that release made
        assertEquals(Set.of(), sessionDirs());
    }

    @Test
    void theHousekeepingThreadRemovesAndThenEndsWhenIdle() throws Exception {
        SessionCgroups onThread = new SessionCgroups(CgroupRoot.open(root.toString()));
        for (int i = 0; i < CgroupHousekeeping.BUSY_SESSIONS; i++) {
            onThread.create(null, null);
        }
        SessionCgroup session = onThread.create(null, null);
        onThread.release(session);
        onThread.sweep(); // the reaper's, twice a second
        awaitTrue(() -> !Files.exists(session.dir()), session.dir() + " never removed");
        awaitTrue(() -> sessionDirs().size() == CgroupHousekeeping.BUSY_SESSIONS + CgroupHousekeeping.SPARES,
                "spares never made: " + sessionDirs());
        assertTrue(housekeepingThreadAlive(), "the work ran on the agentd-cgroups thread");
        awaitTrue(() -> !housekeepingThreadAlive(), "the housekeeping thread outlived its idle time");
        onThread.killAndRemoveAll();
        assertEquals(Set.of(), sessionDirs());
    }

    /** {@link CgroupHousekeeping#BUSY_SESSIONS} sessions running, made while not yet busy: no spare, nothing queued. */
    private void busy() throws Exception {
        for (int i = 0; i < CgroupHousekeeping.BUSY_SESSIONS; i++) {
            cgroups.create(null, null);
        }
        assertEquals(0, housekeeping.queued());
        assertEquals(CgroupHousekeeping.BUSY_SESSIONS, sessionDirs().size());
    }

    private Set<Path> sessionDirs() throws Exception {
        try (Stream<Path> entries = Files.list(root)) {
            return entries.filter(Files::isDirectory).collect(Collectors.toSet());
        }
    }

    private static boolean housekeepingThreadAlive() {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("agentd-cgroups"));
    }

    private interface Condition {
        boolean holds() throws Exception;
    }

    private static void awaitTrue(Condition c, String message) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!c.holds()) {
            assertTrue(System.nanoTime() - deadline < 0, message);
            Thread.sleep(10);
        }
    }

    /** Runs its queue when the test says, and all of it when the agent's last step waits for it. */
    private static final class HousekeepingOnCue extends AbstractExecutorService {
        private final Deque<Runnable> queued = new ArrayDeque<>();
        private boolean shutdown;
        /** What ThreadPoolExecutor.execute throws when the kernel will not start its thread. */
        boolean refuseThreads;

        @Override
        public void execute(Runnable task) {
            if (shutdown) {
                throw new RejectedExecutionException("shut down");
            }
            if (refuseThreads) {
                throw new OutOfMemoryError("unable to create native thread: possibly out of memory or process/resource limits reached");
            }
            queued.add(task);
        }

        int queued() {
            return queued.size();
        }

        void runQueued() {
            assertNotEquals(0, queued.size(), "nothing was left to the housekeeping");
            while (!queued.isEmpty()) {
                queued.poll().run();
            }
        }

        @Override
        public void shutdown() {
            shutdown = true;
        }

        @Override
        public List<Runnable> shutdownNow() {
            shutdown = true;
            List<Runnable> left = new ArrayList<>(queued);
            queued.clear();
            return left;
        }

        @Override
        public boolean isShutdown() {
            return shutdown;
        }

        @Override
        public boolean isTerminated() {
            return shutdown && queued.isEmpty();
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) {
            while (!queued.isEmpty()) {
                queued.poll().run();
            }
            return true;
        }
    }
}
