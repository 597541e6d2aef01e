package io.agentd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A bench JVM stopped mid-run (SIGTERM to it alone) leaves no process of its own running. */
class StopHookTest {

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void aBenchJvmStoppedMidRunEndsEveryProcessItStartedAndKeepsOnlyItsLogs(@TempDir Path tmp) throws Exception {
        Path repo = Path.of(System.getProperty("bench.repo", "..")).toAbsolutePath().normalize();
        Path nativeDir = Path.of(System.getProperty("bench.nativeDir", "target")).toAbsolutePath();
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path output = tmp.resolve("bench.out");
        Path benchTmp = Files.createDirectory(tmp.resolve("tmp")); // the run's work dir is made here
        Process bench = new ProcessBuilder(java.toString(), "-Djava.io.tmpdir=" + benchTmp,
                "-cp", System.getProperty("java.class.path"), BenchMain.class.getName(),
                "--repo", repo.toString(), "--native", nativeDir.toString(), "--smoke", "--only", "exec")
                .redirectErrorStream(true).redirectOutput(output.toFile()).start();
        List<ProcessHandle> seen = List.of();
        try {
            // the agent's JVM (scripts/agentd execs java): the bench is then mid-run
            while (bench.descendants().noneMatch(StopHookTest::isJava)) {
                assertTrue(bench.isAlive(), "the bench ended before its agent was seen:\n" + Files.readString(output));
                Thread.sleep(5);
            }
            seen = bench.descendants().toList();

            bench.destroy(); // SIGTERM to the bench JVM only

            assertTrue(bench.waitFor(20, TimeUnit.SECONDS), "the bench JVM did not end");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            for (ProcessHandle p : seen) {
                while (p.isAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
            }
            List<String> left = seen.stream().filter(ProcessHandle::isAlive)
                    .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList();
            assertEquals(List.of(), left, "still running after the bench JVM was stopped\n" + Files.readString(output));

            try (var runs = Files.list(benchTmp)) {
                Path work = runs.filter(p -> p.getFileName().toString().startsWith("agentd-bench"))
                        .findFirst().orElseThrow();
                try (var kept = Files.walk(work)) {
                    assertEquals(List.of("", "exec.log"),
                            kept.map(p -> work.relativize(p).toString()).sorted().toList(),
                            "the work dir after a stop holds the agent's log only");
                }
            }
            assertTrue(Files.readString(output).contains("agent logs kept in"), Files.readString(output));
        } finally {
            bench.destroyForcibly();
            seen.forEach(ProcessHandle::destroyForcibly); // what the old code left behind
        }
    }

    private static boolean isJava(ProcessHandle h) {
        return h.info().command().map(c -> c.endsWith("/java")).orElse(false);
    }
}
