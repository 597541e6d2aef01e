package io.agentd.agent.session.cgroup;

import static io.agentd.agent.session.cgroup.FakeCgroup2.cgroup;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.agentd.agent.session.SessionGroupRecord;
import io.agentd.agent.session.cgroup.FakeCgroup2.Opened;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.FailureKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The cgroup that holds every session's cgroup, {@code sessions} in the subtree, and its memory.max:
 * files a session wrote to a tmpfs stay charged after it ends, and no OOM killer frees them, so with
 * nothing above the sessions a few of them took the whole guest and the kernel killed the agent (a
 * review, 512 MiB). The subtree itself cannot hold the limit, as in the guest it also holds the
 * agent's leaf. Temporary directories stand in for cgroup2 with the files the kernel would show (a
 * {@code sessions} already there, as an earlier agent leaves it), and texts for /proc/meminfo and
 * /proc/cgroups.
 */
class CgroupRootSessionsMemoryTest {
    private static final long MIB = 1L << 20;
    private static final String KERNEL = """
            #subsys_name\thierarchy\tnum_cgroups\tenabled
            cpu\t0\t120\t1
            memory\t0\t120\t1
            pids\t0\t120\t1
            """;
    /** The 512 MiB guest's: MemTotal 469 MiB, its root file system 51 MiB of Shmem. */
    private static final String MEMINFO = """
            MemTotal:         481052 kB
            MemFree:          378140 kB
            MemAvailable:     345428 kB
            Shmem:             53000 kB
            """;
    /** MemTotal less Shmem less the reserve, rounded down to whole MiB. */
    private static final long DEFAULT_LIMIT = 290 * MIB;

    /**
     * The guest's layout: the agent in agentd/agent, its sessions in agentd/sessions, whose memory.max
     * is the default; the start line and the serving line's words name it, and the session cgroups
     * are made there.
     */
    @Test
    void theSessionsCgroupGetsTheDefaultLimitAndHoldsTheSessions() throws Exception {
        Layout l = guestLayout("max");
        Opened o = open(l.subtree, SessionsMemoryMax.AUTO);
        assertEquals(DEFAULT_LIMIT + "", Files.readString(l.sessions.resolve("memory.max")));
        assertEquals("session cgroups under " + l.sessions + " (controllers: cpu memory pids; sessions' memory.max"
                + " 290 MiB: MemTotal 469 MiB less 51 MiB of files held in memory outside the sessions (Shmem: the root"
                + " file system when it lives in memory, tmpfs), less 128 MiB kept for the agent and the kernel;"
                + " no cgroup.kill, killing pid by pid)", o.startLine());
        assertEquals("sessions' memory.max 290 MiB", o.root().memoryLimit());
        assertEquals("max", Files.readString(l.subtree.resolve("memory.max")), "nothing written to the subtree");

        SessionCgroups cgroups = new SessionCgroups(o.root());
        SessionCgroup session = cgroups.create(null, null);
        assertEquals(l.sessions, session.dir().getParent(), "a session's cgroup is made in the sessions' cgroup");
    }

    /**
     * A lower memory.max on the subtree (an operator's, a service manager's MemoryMax=) is kept: the
     * agent writes nothing there, and the sessions' default is that, less the agent's reserve (the
     * agent is in it too). A higher one changes nothing.
     */
    @Test
    void aLowerLimitOnTheSubtreeIsKeptAndBoundsTheDefault() throws Exception {
        Layout l = guestLayout(Long.toString(300 * MIB));
        Opened o = open(l.subtree, SessionsMemoryMax.AUTO);
        assertEquals(Long.toString(300 * MIB), Files.readString(l.subtree.resolve("memory.max")));
        assertEquals(Long.toString(172 * MIB), Files.readString(l.sessions.resolve("memory.max")));
        assertTrue(o.startLine().contains("sessions' memory.max 172 MiB: memory.max 300 MiB of " + l.subtree
                + ", less 128 MiB kept for the agent and the kernel"), o.startLine());

        Layout high = guestLayout(Long.toString(8L << 30));
        open(high.subtree, SessionsMemoryMax.AUTO);
        assertEquals(DEFAULT_LIMIT + "", Files.readString(high.sessions.resolve("memory.max")));
    }

    /**
     * The sessions' cgroup is the agent's own: a value an earlier agent wrote there (another option)
     * is replaced, by a byte count, a share, or "max" for none.
     */
    @Test
    void theOptionSetsOrLiftsTheLimit() throws Exception {
        Layout l = guestLayout("max");
        Files.writeString(l.sessions.resolve("memory.max"), Long.toString(100 * MIB)); // an earlier agent's
        Files.writeString(l.sessions.resolve("memory.max"), ""); // the kernel's file takes a write whole; this one is emptied
        Opened bytes = open(l.subtree, SessionsMemoryMax.parse("400m"));
        assertEquals(Long.toString(400 * MIB), Files.readString(l.sessions.resolve("memory.max")));
        assertTrue(bytes.startLine().contains("; sessions' memory.max 400 MiB: --sessions-memory-max 400 MiB"), bytes.startLine());

        Files.writeString(l.sessions.resolve("memory.max"), "");
        open(l.subtree, SessionsMemoryMax.parse("50%"));
        assertEquals(Long.toString(234 * MIB), Files.readString(l.sessions.resolve("memory.max")));

        Files.writeString(l.sessions.resolve("memory.max"), "");
        Opened none = open(l.subtree, SessionsMemoryMax.NONE);
        assertEquals("max", Files.readString(l.sessions.resolve("memory.max")));
        assertTrue(none.startLine().contains("; sessions' memory not limited (--sessions-memory-max none)"), none.startLine());
        assertEquals("sessions' memory not limited (--sessions-memory-max none)", none.root().memoryLimit());
    }

    /**
     * Without the memory controller (a hybrid host: bound to cgroup v1) nothing is written, the
     * sessions still get their cgroup, and the serving line says why they are not limited; a
     * memory_max is refused as before.
     */
    @Test
    void withoutTheMemoryControllerNothingIsLimited() throws Exception {
        Layout l = guestLayout("max");
        for (Path c : List.of(l.subtree.getParent(), l.subtree)) {
            Files.writeString(c.resolve("cgroup.controllers"), "cpu pids\n");
            Files.writeString(c.resolve("cgroup.subtree_control"), "cpu pids\n");
        }
        Files.delete(l.sessions.resolve("memory.max"));
        String hybrid = KERNEL.replace("memory\t0\t120\t1", "memory\t4\t88\t1");
        Opened o = open(l.subtree, SessionsMemoryMax.AUTO, hybrid);
        assertFalse(Files.exists(l.sessions.resolve("memory.max")), "no memory.max made");
        assertEquals("sessions' memory not limited (no memory controller)", o.root().memoryLimit());
        assertTrue(o.startLine().startsWith("session cgroups under " + l.sessions + " (controllers: cpu pids; memory not"
                + " available: bound to cgroup v1"), o.startLine());
        assertFalse(o.startLine().contains("memory.max"), o.startLine());
        ExecFailed f = assertThrows(CgroupRefusal.class, () -> new SessionCgroups(o.root()).create(64 * MIB, null))
                .failure();
        assertEquals("resource_limit", f.kind());
        assertTrue(f.message().startsWith("memory_max needs the memory controller, which is not available in "
                + l.subtree + ": bound to cgroup v1"), f.message());
    }

    /**
     * Files an earlier agent's sessions left are in the sessions' cgroup already: the start line says
     * how much they hold, and they do not lower the default (they are inside the limit, not outside).
     */
    @Test
    void whatTheSessionsHoldAtTheStartIsSaidAndNotCountedOutside() throws Exception {
        Layout l = guestLayout("max");
        Files.writeString(l.sessions.resolve("memory.current"), Long.toString(200 * MIB) + "\n");
        Files.writeString(l.sessions.resolve("memory.stat"), "anon 0\nfile 209715200\nshmem 209715200\n");
        Path meminfo = scratch().resolve("meminfo");
        Files.writeString(meminfo, MEMINFO.replace("53000 kB", (53000 + 200 * 1024) + " kB"));
        Opened o = open(l.subtree, SessionsMemoryMax.AUTO, KERNEL, meminfo);
        assertEquals(DEFAULT_LIMIT + "", Files.readString(l.sessions.resolve("memory.max")));
        assertTrue(o.startLine().contains("; they hold 200 MiB now (memory.current)"), o.startLine());
    }

    /** A dead agent's session cgroups are found in the sessions' cgroup, and in the subtree itself (an older agent's). */
    @Test
    void leftoversAreFoundInBothPlaces() throws Exception {
        Layout l = guestLayout("max");
        Path newer = Files.createDirectory(l.sessions.resolve("s-" + Integer.MAX_VALUE + "-5-0"));
        Path older = Files.createDirectory(l.subtree.resolve("s-" + Integer.MAX_VALUE + "-5-1"));
        long self = ProcessHandle.current().pid();
        Path ours = Files.createDirectory(l.sessions.resolve("s-" + self + "-" + SessionGroupRecord.startTicksOf(self)
                + "-7"));
        Opened o = open(l.subtree, SessionsMemoryMax.AUTO);
        assertEquals(0, o.root().killLeftovers(), "nothing was populated");
        assertFalse(Files.exists(newer), "a dead agent's cgroup in sessions is removed");
        assertFalse(Files.exists(older), "a dead older agent's cgroup in the subtree is removed");
        assertTrue(Files.isDirectory(ours), "a live agent's own is left");
        assertTrue(Files.isDirectory(l.sessions) && Files.isDirectory(l.subtree.resolve("agent")),
                "the sessions' cgroup and the agent's leaf are no session cgroups");
    }

    /**
     * A session OOM-killed at the sessions' limit (their memory.events.local oom grew, not the
     * session's own memory_max): one warning says what fills it, at most one a minute; a spawn the
     * kernel refused memory at that limit (an exec's ENOMEM) says so in its failure.
     */
    @Test
    void aSessionKilledAtTheSessionsLimitIsSaidOnceAMinute() throws Exception {
        Layout l = guestLayout("max");
        Files.writeString(l.sessions.resolve("memory.events.local"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n");
        Opened o = open(l.subtree, SessionsMemoryMax.AUTO);
        SessionCgroups cgroups = new SessionCgroups(o.root());
        Files.writeString(l.sessions.resolve("memory.current"), Long.toString(DEFAULT_LIMIT - MIB));
        Files.writeString(l.sessions.resolve("memory.stat"), "anon 1048576\nshmem " + (280 * MIB) + "\n");

        // Its own memory_max: the sessions' count is what it was at the start (an earlier agent's).
        List<String> said = warnings(() -> killedAndReleased(cgroups));
        assertEquals(List.of(), said);

        Files.writeString(l.sessions.resolve("memory.events.local"), "max 9\noom 2\noom_kill 0\n");
        said = warnings(() -> killedAndReleased(cgroups));
        assertEquals(1, said.size(), said.toString());
        assertTrue(said.get(0).startsWith("the sessions' memory is full: a process of s-"), said.get(0));
        assertTrue(said.get(0).endsWith(" was OOM-killed or refused memory at the sessions' limit; " + l.sessions + " holds 289 MiB of"
                + " its memory.max 290 MiB, 280 MiB of it files in memory (memory.stat shmem: tmpfs files such as"
                + " /tmp's and /dev/shm's, which stay charged to the sessions after the session that wrote them has"
                + " ended, until they are removed; the fs requests, Remove among them, are the agent's own and work"
                + " while sessions cannot)"), said.get(0));

        Files.writeString(l.sessions.resolve("memory.events.local"), "max 12\noom 4\noom_kill 0\n");
        assertEquals(List.of(), warnings(() -> killedAndReleased(cgroups)), "a second line within the minute");

        // An exec refused memory at the sessions' limit (the OOM killer found nothing to take).
        Files.writeString(l.sessions.resolve("memory.events.local"), "max 13\noom 5\noom_kill 0\n");
        SessionCgroup refused = cgroups.create(null, null);
        ExecFailed enomem = ExecFailed.of(FailureKind.OUT_OF_MEMORY, 12, "ENOMEM",
                "cannot run \"sh\": exec failed: Cannot allocate memory (ENOMEM)", "execve");
        ExecFailed told = cgroups.spawnFailure(refused, enomem);
        assertEquals(new ExecFailed("out_of_memory", 12, "ENOMEM", enomem.message() + "; the sessions' memory is full: "
                + l.sessions + " holds 289 MiB of its memory.max 290 MiB, 280 MiB of it files in memory (memory.stat"
                + " shmem: tmpfs files such as /tmp's and /dev/shm's, which stay charged to the sessions after the"
                + " session that wrote them has ended, until they are removed; the fs requests, Remove among them,"
                + " are the agent's own and work while sessions cannot)", "execve"), told);
        // Not at the sessions' limit (no OOM of theirs since), or another errno: unchanged.
        assertEquals(enomem, cgroups.spawnFailure(refused, enomem));
        Files.writeString(l.sessions.resolve("memory.events.local"), "max 14\noom 6\noom_kill 0\n");
        ExecFailed other = ExecFailed.of(FailureKind.NOT_FOUND, 2, "ENOENT", "x", "execve");
        assertEquals(other, cgroups.spawnFailure(refused, other));
    }

    /** A session cgroup made, its memory.events showing an OOM kill, its usage read (as at its exit), released. */
    private static void killedAndReleased(SessionCgroups cgroups) {
        try {
            SessionCgroup c = cgroups.create(null, null);
            Files.writeString(c.dir().resolve("memory.events"), "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\n");
            assertEquals(Boolean.TRUE, c.usage().oomKilled());
            cgroups.release(c);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static List<String> warnings(Runnable r) {
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        Logger logger = (Logger) LoggerFactory.getLogger(SessionCgroups.class);
        logger.addAppender(lines);
        try {
            r.run();
        } finally {
            logger.detachAppender(lines);
        }
        return lines.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage)
                .toList();
    }

    /** A subtree holding the agent's leaf and the sessions' cgroup, as init makes it in the guest. */
    private record Layout(Path subtree, Path sessions) {}

    private static Layout guestLayout(String subtreeMax) throws IOException {
        Path top = scratch();
        Path root = cgroup(top.resolve("root"), "cpu memory pids", "1\n", true);
        Files.writeString(root.resolve("cgroup.subtree_control"), "cpu memory pids\n");
        Path subtree = cgroup(root.resolve("agentd"), "cpu memory pids", "", false);
        Files.writeString(subtree.resolve("cgroup.subtree_control"), "cpu memory pids\n");
        Files.writeString(subtree.resolve("memory.max"), subtreeMax);
        cgroup(subtree.resolve("agent"), "cpu memory pids", ProcessHandle.current().pid() + "\n", false);
        Path sessions = cgroup(subtree.resolve("sessions"), "cpu memory pids", "", false);
        Files.writeString(sessions.resolve("memory.max"), "max");
        Files.writeString(sessions.resolve("memory.current"), "0\n");
        Files.writeString(sessions.resolve("memory.stat"), "anon 0\nshmem 0\n");
        Files.writeString(sessions.resolve("memory.events.local"), "oom 0\noom_kill 0\n");
        return new Layout(subtree, sessions);
    }

    private static Opened open(Path subtree, SessionsMemoryMax option) throws IOException {
        return open(subtree, option, KERNEL);
    }

    private static Opened open(Path subtree, SessionsMemoryMax option, String procCgroups) throws IOException {
        Path meminfo = scratch().resolve("meminfo");
        Files.writeString(meminfo, MEMINFO);
        return open(subtree, option, procCgroups, meminfo);
    }

    private static Opened open(Path subtree, SessionsMemoryMax option, String procCgroups, Path meminfo)
            throws IOException {
        Path table = Files.writeString(meminfo.resolveSibling("proc-cgroups"), procCgroups);
        return FakeCgroup2.open(() -> CgroupRoot.open(subtree.toString(), option, table, meminfo));
    }

    private static Path scratch() throws IOException {
        return FakeCgroup2.scratch("cgroup-sessions-");
    }
}
