package io.agentd.agent.session.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ResourceUsage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The kill for kernels without cgroup.kill (before 5.14), on this machine's cgroup2: a cgroup whose
 * processes forked away from their parent is emptied pid by pid, frozen meanwhile. Needs root and a
 * writable cgroup2 mount; skipped otherwise.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PidByPidKillTest {

    @Test
    void aCgroupIsEmptiedWithoutCgroupKill() throws Exception {
        Path dir = ThisMachinesCgroup2.newCgroup("test-pid-by-pid");
        // A shell that joins the cgroup, then leaves two sleeps behind in their own sessions.
        Process sh = new ProcessBuilder("sh", "-c", "echo 0 > " + dir.resolve("cgroup.procs")
                + "; setsid sleep 300 & setsid sleep 300 & echo started").start();
        try {
            assertEquals("started", new String(sh.getInputStream().readNBytes(7), StandardCharsets.US_ASCII));
            sh.waitFor();
            SessionCgroup cgroup = new SessionCgroup(dir, false, false);
            assertTrue(cgroup.populated(), "the sleeps are in the cgroup");
            cgroup.kill(5000);
            assertFalse(cgroup.populated(), "processes left after the pid-by-pid kill");
            assertTrue(cgroup.usage().cpuUserUs() != null, "cpu.stat read: " + cgroup.usage());
            assertEquals(null, cgroup.usage().memoryPeakBytes(), "memory files not looked for");
            assertTrue(cgroup.remove(), "empty cgroup removed");
            assertFalse(Files.exists(dir));
        } finally {
            sh.destroyForcibly();
            if (Files.exists(dir)) {
                new SessionCgroup(dir, true, false).kill(1000);
                Files.deleteIfExists(dir);
            }
        }
    }

    /**
     * A process the session moved into a cgroup of its own below the session's (root may) dies too:
     * the freeze covers the subtree, and the pids are read from every cgroup in it. Only the
     * session's cgroup.procs was read, so such a process outlived the timeout, the host-loss and the
     * shutdown kills, and its cgroup could never be removed (a review, as a test like this one).
     */
    @Test
    void aProcessInAChildCgroupTheSessionMadeIsKilledToo() throws Exception {
        Path dir = ThisMachinesCgroup2.newCgroup("test-pid-by-pid-child");
        Path child = dir.resolve("made-by-the-session");
        Process sh = new ProcessBuilder("sh", "-c", "echo 0 > " + dir.resolve("cgroup.procs") + "; mkdir " + child
                + "; setsid sh -c 'echo 0 > " + child.resolve("cgroup.procs") + "; exec sleep 300' &"
                + " sleep 0.3; echo started").start();
        try {
            assertEquals("started", new String(sh.getInputStream().readNBytes(7), StandardCharsets.US_ASCII));
            sh.waitFor();
            assertFalse(Files.readString(child.resolve("cgroup.procs")).isBlank(), "the sleep is in the child cgroup");
            SessionCgroup cgroup = new SessionCgroup(dir, false, false);
            cgroup.kill(5000);
            assertFalse(cgroup.populated(), "left in the child cgroup: " + Files.readString(child.resolve("cgroup.procs")));
            assertTrue(cgroup.remove(), "removed with its child cgroup");
        } finally {
            sh.destroyForcibly();
            if (Files.exists(dir)) {
                new SessionCgroup(dir, true, false).kill(1000);
                new SessionCgroup(dir, true, false).remove();
            }
        }
    }

    @Test
    void usageOfNoCgroupIsUnknown() {
        assertEquals(ResourceUsage.UNKNOWN, SessionCgroup.NONE.usage());
    }
}
