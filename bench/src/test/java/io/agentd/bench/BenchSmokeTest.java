package io.agentd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs every benchmark in miniature against a real agent (scripts/agentd), real qemu-ga and the real
 * C floors, so CI proves the suite works. It checks what the benchmarks count (exits, lines, bytes,
 * echoes), never how fast: timed targets belong to scripts/bench. Needs qemu-ga (scripts/install-deps).
 */
class BenchSmokeTest {

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void everyBenchmarkRunsInMiniatureAndItsCountsAreRight(@TempDir Path work) throws Exception {
        Path repo = Path.of(System.getProperty("bench.repo", "..")).toAbsolutePath().normalize();
        Path nativeDir = Path.of(System.getProperty("bench.nativeDir", "target"));
        BenchConfig cfg = BenchConfig.smoke(repo, nativeDir, work, List.of());
        ByteArrayOutputStream progress = new ByteArrayOutputStream();

        BenchMain.Report report = BenchMain.run(cfg, BenchMain.ALL, ConcurrencyBench.Workload.PERL,
                new PrintStream(progress, true, StandardCharsets.UTF_8));

        String shown = report.text() + "\n" + progress.toString(StandardCharsets.UTF_8);
        assertTrue(report.allRan(), shown);
        List<Figure> figures = report.figures();
        assertEquals(67, figures.size(), shown);
        assertEquals(List.of(), SmokeCheck.faults(figures), shown);
        // the figures that must come out whole: concurrency's exits and lines, many-sessions' right
        // answers, stdin's sum and slow-reader bytes, the execs of many hosts at once (a row turned back
        // into a timing-like check would no longer be held to its target)
        assertEquals(6, figures.stream().filter(Figure::correctness).count(), shown);
        assertFalse(report.agentFlags().isEmpty(), "the agent's JVM flags were not read\n" + shown);
    }
}
