package io.agentd.agent.session.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.session.SessionGroupRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The start's sweep of a dead agent's session cgroups, on a fake subtree (a temporary directory with
 * a cgroup.procs file, given as --cgroup-root): nothing here is a real cgroup, and the cgroups it
 * finds are empty, so the sweep removes the dead agent's and kills nothing.
 */
class CgroupRootLeftoversTest {

    @Test
    void aNameWithNumbersPastALongIsLeftAloneAndTheSweepGoesOn() throws Exception {
        Path root = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "cgroup-root-");
        Files.writeString(root.resolve("cgroup.procs"), "");
        long self = ProcessHandle.current().pid();
        // A session with write access to the subtree can mkdir any name; these two match the session
        // cgroups' pattern but hold a pid or a start time no long can hold.
        Path pidPastALong = Files.createDirectory(root.resolve("s-99999999999999999999-1-1"));
        Path ticksPastALong = Files.createDirectory(root.resolve("s-1-99999999999999999999-1"));
        Path deadAgents = Files.createDirectory(root.resolve("s-" + Integer.MAX_VALUE + "-5-0"));
        Path ours = Files.createDirectory(root.resolve("s-" + self + "-" + SessionGroupRecord.startTicksOf(self) + "-0"));
        CgroupRoot cgroups = CgroupRoot.open(root.toString());
        assertNotNull(cgroups, "a directory with a writable cgroup.procs is taken as the subtree");

        assertEquals(0, cgroups.killLeftovers(), "nothing was populated");

        assertTrue(Files.isDirectory(pidPastALong), "not an agent's cgroup: left alone");
        assertTrue(Files.isDirectory(ticksPastALong), "not an agent's cgroup: left alone");
        assertFalse(Files.exists(deadAgents), "a dead agent's empty cgroup is removed, whatever came before it");
        assertTrue(Files.isDirectory(ours), "a live agent's cgroup is its own");
    }
}
