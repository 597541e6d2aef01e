package io.agentd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bare-JVM baseline of AgentctlStartBench starts with the options scripts/agentctl gives exec. */
class LauncherFlagsTest {

    @Test
    void theBaselineTakesEveryOptionTheLauncherGivesExecButItsArchive(@TempDir Path tmp) throws Exception {
        Path repo = Path.of(System.getProperty("bench.repo", "..")).toAbsolutePath().normalize();

        List<String> flags = LauncherFlags.of(repo.resolve("scripts/agentctl"), tmp,
                List.of("--socket", tmp.resolve("none.sock").toString(), "exec", "--", "/bin/true"));

        // what the launcher's exec line and its jit/heap choice for a short command give (scripts/agentctl)
        for (String flag : List.of("-XX:TieredStopAtLevel=1", "-XX:CompileThresholdScaling=10", "-XX:+UseSerialGC",
                "-Xmn8m", "-Xms16m", "-Xshare:auto", "-XX:-UsePerfData", "-XX:+DisplayVMOutputToStderr")) {
            assertTrue(flags.contains(flag), flag + " missing from " + flags);
        }
        assertTrue(flags.stream().noneMatch(f -> f.startsWith("-XX:SharedArchiveFile") || f.startsWith("-Xlog:cds")
                || f.equals("-cp") || f.contains("Agentctl")), flags.toString());
        assertEquals(flags.size(), flags.stream().filter(f -> f.startsWith("-")).count(), flags.toString());
    }
}
