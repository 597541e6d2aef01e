package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A SIGTERM that comes while the kernel refuses the agent every new thread (its cgroup at its
 * pids.max: a session's fork bomb, or a guest at its process limit) still stops the agent. The JVM's
 * own signal handling starts a new thread for each signal and, refused one, drops the signal with a
 * warning on standard error: the agent ran on, and init's SIGTERM did nothing. Needs root and a
 * pids controller this test may make a cgroup in (cgroup v1's pids hierarchy, or cgroup2 with pids
 * in its root's subtree_control).
 */
class StopSignalAtThreadLimitE2ETest {

    @Test
    void sigtermStopsTheAgentWhileNoThreadCanBeStarted() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root: moves the agent to a pids cgroup");
        Path pids = pidsHierarchy();
        Assumptions.assumeTrue(pids != null, "no pids controller to make a cgroup in");
        Path cgroup = pids.resolve("agentd-test-stop-signal-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        Files.createDirectory(cgroup);
        try (AgentProcess agent = AgentProcess.start("stop-at-thread-limit")) {
            agent.connectReady().close();
            Files.writeString(cgroup.resolve("cgroup.procs"), Long.toString(agent.pid()));
            // every thread it has, and not one more
            Files.writeString(cgroup.resolve("pids.max"), Files.readString(cgroup.resolve("pids.current")).trim());
            agent.signal(15);
            assertEquals(143, agent.awaitExit(Duration.ofSeconds(20)), agent.logText());
            agent.awaitLog("agentd exits 143");
        } finally {
            try {
                Files.writeString(cgroup.resolve("pids.max"), "max");
            } catch (IOException e) {
                // gone with a failed setup
            }
            Files.deleteIfExists(cgroup); // empty once the agent is gone
        }
    }

    /** A directory of a pids controller where a child cgroup may be made, or null. */
    private static Path pidsHierarchy() throws IOException {
        Path v1 = Path.of("/sys/fs/cgroup/pids");
        if (Files.isWritable(v1.resolve("cgroup.procs")) && Files.exists(v1.resolve("tasks"))) {
            return v1;
        }
        Path v2 = Path.of("/sys/fs/cgroup");
        Path control = v2.resolve("cgroup.subtree_control");
        if (Files.isReadable(control) && Files.readString(control).contains("pids")) {
            return v2;
        }
        return null;
    }
}
