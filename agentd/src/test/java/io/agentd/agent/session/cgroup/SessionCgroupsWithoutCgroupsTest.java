package io.agentd.agent.session.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ResourceUsage;
import org.junit.jupiter.api.Test;

/** An agent without cgroups: sessions run without one, and limits are refused, typed. */
class SessionCgroupsWithoutCgroupsTest {
    private final SessionCgroups cgroups = new SessionCgroups(null);

    @Test
    void aSessionWithoutLimitsRunsWithoutACgroup() throws Exception {
        assertFalse(cgroups.enabled());
        SessionCgroup none = cgroups.create(null, null);
        assertSame(SessionCgroup.NONE, none);
        assertEquals(-1, none.fd());
        assertEquals(ResourceUsage.UNKNOWN, none.usage());
        assertFalse(none.populated());
        none.kill(0);
        cgroups.release(none);
        assertTrue(none.remove());
    }

    @Test
    void limitsAreRefusedNotIgnored() {
        for (Long[] limits : new Long[][] {{64L << 20, null}, {null, 32L}}) {
            ExecFailed f = assertThrows(CgroupRefusal.class, () -> cgroups.create(limits[0], limits[1])).failure();
            assertEquals("resource_limit", f.kind());
            assertEquals("cgroup", f.stage());
            assertTrue(f.message().contains("no writable cgroup2"), f.message());
        }
    }

    /**
     * 2^63 or more (a negative long) is no limit: nothing the agent could fail to apply, so it runs
     * without a cgroup. Before, it was refused like a limit ("need a session cgroup").
     */
    @Test
    void noLimitAskedForExplicitlyIsNoLimit() throws Exception {
        assertSame(SessionCgroup.NONE, cgroups.create(-1L, null));
        assertSame(SessionCgroup.NONE, cgroups.create(null, Long.MIN_VALUE));
        assertSame(SessionCgroup.NONE, cgroups.create(-1L, -1L));
    }

    /**
     * pids_max 0 is refused before any cgroup: with one, the command (the cgroup's first task) would
     * run wherever the spawn moves it in through cgroup.procs rather than clone3, which pids.max does
     * not check (another architecture, an older kernel, a seccomp filter).
     */
    @Test
    void pidsMaxZeroIsRefusedWhateverTheCgroups() {
        ExecFailed f = assertThrows(CgroupRefusal.class, () -> cgroups.create(null, 0L)).failure();
        assertEquals("resource_limit", f.kind());
        assertTrue(f.message().startsWith("pids_max 0 leaves no room for the command"), f.message());
    }
}
