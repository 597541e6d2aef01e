package io.agentd.agent.session.cgroup;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** Real cgroups on this machine's writable cgroup2, for the tests that need them: skipped without root or one. */
final class ThisMachinesCgroup2 {
    private ThisMachinesCgroup2() {}

    /** A new empty cgroup named {@code name}-PID under the agent's subtree the agent would detect here. */
    static Path newCgroup(String name) throws IOException {
        SubtreeDetection found = SubtreeDetection.from(
                Files.readString(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8),
                Files.readString(Path.of("/proc/self/cgroup"), StandardCharsets.UTF_8));
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root to make cgroups");
        Assumptions.assumeTrue(found.dir() != null, "needs a writable cgroup2: " + found.reason());
        Files.createDirectories(found.dir());
        Path dir = found.dir().resolve(name + "-" + ProcessHandle.current().pid());
        Files.createDirectory(dir);
        return dir;
    }
}
