package io.agentd.agent.session.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Where the agent's cgroup subtree is, from fake /proc/self/mountinfo and /proc/self/cgroup texts. */
class CgroupRootDetectionTest {
    private static final String HYBRID = """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """;
    private static final String UNIFIED = """
            22 1 0:21 / /proc rw,nosuid - proc proc rw
            25 21 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
            """;

    @Test
    void theGuestsLayoutTheAgentInALeafNamedAgent() {
        SubtreeDetection d = SubtreeDetection.from(UNIFIED, "0::/agentd/agent\n");
        assertEquals(Path.of("/sys/fs/cgroup/agentd"), d.dir());
    }

    @Test
    void aHybridHostUsesTheUnifiedMountAndASubtreeUnderItsRoot() {
        SubtreeDetection d = SubtreeDetection.from(HYBRID, "4:memory:/x\n1:cpu:/\n0::/\n");
        assertEquals(Path.of("/sys/fs/cgroup/unified/agentd"), d.dir());
    }

    @Test
    void anAgentInSomeOtherCgroupGetsASubtreeUnderItsOwn() {
        SubtreeDetection d = SubtreeDetection.from(UNIFIED, "0::/system.slice/agentd.service\n");
        assertEquals(Path.of("/sys/fs/cgroup/system.slice/agentd.service/agentd"), d.dir());
    }

    @Test
    void theUsualMountPointWinsOverAnotherCgroup2Mount() {
        String two = "50 1 0:40 / /mnt/other rw - cgroup2 cgroup2 rw\n" + UNIFIED;
        assertEquals(Path.of("/sys/fs/cgroup/agentd"), SubtreeDetection.from(two, "0::/\n").dir());
    }

    @Test
    void optionalFieldsAndEscapedMountPointsAreRead() {
        String escaped = "60 1 0:41 / /mnt/my\\040cgroups rw,relatime shared:9 master:2 - cgroup2 none rw\n";
        assertEquals(Path.of("/mnt/my cgroups/agentd"), SubtreeDetection.from(escaped, "0::/\n").dir());
    }

    @Test
    void aMountOfASubtreeIsJoinedWithoutRepeatingIt() {
        String namespaced = "70 1 0:42 /lxc/c1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assertEquals(Path.of("/sys/fs/cgroup/agentd"), SubtreeDetection.from(namespaced, "0::/lxc/c1/agentd/agent\n").dir());
    }

    @Test
    void noCgroup2OrAReadOnlyOneIsNoneWithAReason() {
        SubtreeDetection none = SubtreeDetection.from(HYBRID.replace("cgroup2 cgroup2", "tmpfs tmpfs"), "0::/\n");
        assertNull(none.dir());
        assertTrue(none.reason().contains("no writable cgroup2"), none.reason());
        SubtreeDetection readOnly = SubtreeDetection.from(UNIFIED.replace("/sys/fs/cgroup rw,", "/sys/fs/cgroup ro,"),
                "0::/\n");
        assertNull(readOnly.dir());
    }

    @Test
    void aProcessWithoutACgroup2LineIsNone() {
        SubtreeDetection d = SubtreeDetection.from(UNIFIED, "1:name=systemd:/\n");
        assertNull(d.dir());
        assertTrue(d.reason().contains("0::"), d.reason());
    }
}
