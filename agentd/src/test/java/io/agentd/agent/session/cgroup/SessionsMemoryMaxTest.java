package io.agentd.agent.session.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * --sessions-memory-max's value and the limit it gives: by default MemTotal less the files held in
 * memory outside the sessions and a reserve for the agent and the kernel, below a lower memory.max
 * above the sessions, never under a floor; a byte count or a share of MemTotal as given; none.
 */
class SessionsMemoryMaxTest {
    private static final long MIB = 1L << 20;
    /** A 512 MiB guest as booted here: MemTotal 481052 kB, Shmem (its root file system) 53000 kB. */
    private static final long GUEST_TOTAL = 481052L * 1024;
    private static final long GUEST_SHMEM = 53000L * 1024;

    @Test
    void theOptionTakesBytesAShareOrNone() {
        assertEquals(new SessionsMemoryMax(256 * MIB, 0, true), SessionsMemoryMax.parse("256m"));
        assertEquals(new SessionsMemoryMax(4096, 0, true), SessionsMemoryMax.parse("4096"));
        assertEquals(new SessionsMemoryMax(2L << 30, 0, true), SessionsMemoryMax.parse("2GiB"));
        assertEquals(new SessionsMemoryMax(0, 75, true), SessionsMemoryMax.parse("75%"));
        assertEquals(new SessionsMemoryMax(0, 100, true), SessionsMemoryMax.parse("100%"));
        assertEquals(SessionsMemoryMax.NONE, SessionsMemoryMax.parse("none"));
        for (String bad : new String[] {"0", "0%", "101%", "-1", "1.5g", "auto", "", "%", "max", "50 %"}) {
            assertNull(SessionsMemoryMax.parse(bad), bad);
        }
    }

    /**
     * The 512 MiB guest: 469 MiB of MemTotal, 51 MiB of it the root file system in memory, 128 MiB
     * kept: 290 MiB for the sessions, whose 6 x 100 MiB of tmpfs files then meet it after the third.
     */
    @Test
    void theDefaultIsMemTotalLessTheFilesInMemoryAndTheReserve() {
        SessionsMemoryMax.Limit l = SessionsMemoryMax.AUTO.limitFor(facts(GUEST_TOTAL, GUEST_SHMEM, 0, -1));
        assertEquals(290 * MIB, l.bytes(), "rounded down to whole MiB");
        assertEquals("MemTotal 469 MiB less 51 MiB of files held in memory outside the sessions (Shmem: the root file"
                + " system when it lives in memory, tmpfs), less 128 MiB kept for the agent and the kernel", l.why());
    }

    /**
     * Files the sessions left (an earlier agent's, still charged to the sessions' cgroup) are inside
     * the limit: a restarted agent does not lower it by them, restart after restart.
     */
    @Test
    void theSessionsOwnFilesInMemoryAreNotCountedOutsideThem() {
        long leftovers = 200 * MIB;
        SessionsMemoryMax.Limit l = SessionsMemoryMax.AUTO.limitFor(facts(GUEST_TOTAL, GUEST_SHMEM + leftovers,
                leftovers, -1));
        assertEquals(290 * MIB, l.bytes());
        // Shmem that cannot be read: MemTotal less the reserve.
        assertEquals(341 * MIB,
                SessionsMemoryMax.AUTO.limitFor(facts(GUEST_TOTAL, -1, 0, -1)).bytes());
    }

    /** A lower memory.max above the sessions (systemd's MemoryMax=, an operator's) bounds the default too. */
    @Test
    void aLowerLimitAboveIsWhatTheReserveIsTakenFrom() {
        SessionsMemoryMax.Limit l = SessionsMemoryMax.AUTO.limitFor(
                new SessionsMemoryMax.Facts(GUEST_TOTAL, GUEST_SHMEM, 0, 300 * MIB, "/sys/fs/cgroup/agentd"));
        assertEquals(172 * MIB, l.bytes());
        assertEquals("memory.max 300 MiB of /sys/fs/cgroup/agentd, less 128 MiB kept for the agent and the kernel",
                l.why());
        // A higher one changes nothing.
        assertEquals(290 * MIB, SessionsMemoryMax.AUTO.limitFor(
                new SessionsMemoryMax.Facts(GUEST_TOTAL, GUEST_SHMEM, 0, 8L << 30, "/sys/fs/cgroup")).bytes());
    }

    /** A machine too small for the reserve still gives the sessions the floor, and says what that risks. */
    @Test
    void aSmallMachineGetsTheFloorAndAWarningInTheWords() {
        SessionsMemoryMax.Limit l = SessionsMemoryMax.AUTO.limitFor(facts(200 * MIB, 60 * MIB, 0, -1));
        assertEquals(SessionsMemoryMax.FLOOR, l.bytes());
        assertTrue(l.why().startsWith("64 MiB, the least it is given: MemTotal 200 MiB less 60 MiB"), l.why());
        assertTrue(l.why().endsWith("which may then be short of memory (give the machine more, or set"
                + " --sessions-memory-max)"), l.why());
    }

    @Test
    void bytesAndSharesAreTakenAsGivenAndNoneIsNoLimit() {
        SessionsMemoryMax.Facts f = new SessionsMemoryMax.Facts(GUEST_TOTAL, GUEST_SHMEM, 0, 100 * MIB, "/x");
        SessionsMemoryMax.Limit bytes = SessionsMemoryMax.parse("400m").limitFor(f);
        assertEquals(400 * MIB, bytes.bytes());
        assertEquals("--sessions-memory-max 400 MiB", bytes.why());
        SessionsMemoryMax.Limit share = SessionsMemoryMax.parse("50%").limitFor(f);
        assertEquals(234 * MIB, share.bytes());
        assertEquals("--sessions-memory-max 50% of MemTotal 469 MiB", share.why());
        assertEquals("--sessions-memory-max 1500000 bytes", SessionsMemoryMax.parse("1500000").limitFor(f).why());
        SessionsMemoryMax.Limit none = SessionsMemoryMax.NONE.limitFor(f);
        assertEquals(-1, none.bytes());
        assertEquals("not limited (--sessions-memory-max none)", none.why());
    }

    /** Without MemTotal there is nothing to take a share of: no limit, said so (a byte count still holds). */
    @Test
    void withoutMemTotalOnlyAByteCountLimits() {
        SessionsMemoryMax.Facts unknown = facts(-1, -1, 0, -1);
        assertEquals(-1, SessionsMemoryMax.AUTO.limitFor(unknown).bytes());
        assertEquals("not limited: MemTotal is not in /proc/meminfo", SessionsMemoryMax.AUTO.limitFor(unknown).why());
        assertEquals(-1, SessionsMemoryMax.parse("10%").limitFor(unknown).bytes());
        assertEquals(MIB, SessionsMemoryMax.parse("1m").limitFor(unknown).bytes());
    }

    private static SessionsMemoryMax.Facts facts(long memTotal, long shmem, long sessionsShmem, long aboveMax) {
        return new SessionsMemoryMax.Facts(memTotal, shmem, sessionsShmem, aboveMax, aboveMax < 0 ? null : "/above");
    }
}
