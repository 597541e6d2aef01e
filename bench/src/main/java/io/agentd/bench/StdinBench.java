package io.agentd.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Stdin through the agent, the way a user sends it: {@code agentctl exec -i} fed from a file of
 * random bytes.
 * <ol>
 * <li>Throughput into {@code cat >/dev/null}, beside the same file copied through a local pipe into
 *     the same command ({@code cat | cat >/dev/null}: one process reading the file, a pipe, the
 *     reader); both clocks include starting the commands.</li>
 * <li>The same bytes into {@code sha256sum}: the sum the child computed must be the file's.</li>
 * <li>A child that reads slowly: every byte must arrive, and the agent's RSS, sampled during the
 *     run, may grow by at most the stdin window (flow control, not buffering).</li>
 * </ol>
 */
final class StdinBench {
    private static final int ROUNDS = 3;
    /** Longest one agentctl exec -i (or its pipe baseline) may take: 1 GiB at a few MiB/s. */
    private static final java.time.Duration FEEDING_LIMIT = java.time.Duration.ofSeconds(600);
    /** The agent's default --stdin-window. */
    static final long WINDOW_BYTES = 1L << 20;
    private static final long RSS_SAMPLE_MILLIS = 20;
    /** Reads 64 KiB, sleeps 1 ms: tens of MiB/s, far below what the host can send. */
    private static final String SLOW_READER = "perl -e 'my $n = 0; while (my $r = sysread(STDIN, my $b, 65536)) "
            + "{ $n += $r; select(undef, undef, undef, 0.001) } print \"$n\\n\"'";

    private StdinBench() {}

    static List<Figure> run(BenchConfig cfg, AgentProcess process) throws Exception {
        runFeeding(List.of(cfg.repo().resolve("scripts/agentctl").toString(), "--socket", process.socket().toString(),
                "wait-ready", "--timeout", "30s"), Path.of("/dev/null"));
        Path input = cfg.workDir().resolve("stdin-input");
        String expectedSum = RandomFile.write(input, cfg.stdinBytes());
        double[] pipe = new double[ROUNDS];
        double[] ours = new double[ROUNDS];
        for (int round = 0; round < ROUNDS; round++) { // interleaved, so a burst of load hits both sides
            pipe[round] = bytesPerSecond(cfg.stdinBytes(), List.of("sh", "-c", "cat | cat >/dev/null"), input);
            ours[round] = bytesPerSecond(cfg.stdinBytes(), agentctl(cfg, process, "sh", "-c", "cat >/dev/null"), input);
        }
        String childSum = new String(runFeeding(agentctl(cfg, process, "sha256sum"), input), StandardCharsets.US_ASCII)
                .split("\\s+")[0];

        Path slowInput = cfg.workDir().resolve("stdin-slow-input");
        RandomFile.write(slowInput, cfg.slowStdinBytes());
        long idleRss = process.memory().rssBytes();
        RssSampler sampler = new RssSampler(process);
        sampler.start();
        String delivered;
        try {
            delivered = new String(runFeeding(agentctl(cfg, process, "sh", "-c", SLOW_READER), slowInput),
                    StandardCharsets.US_ASCII).trim();
        } finally {
            sampler.stopSampling();
        }
        long growth = Math.max(0, sampler.peak() - idleRss);

        double pipeMedian = Samples.median(pipe);
        double oursMedian = Samples.median(ours);
        long mib = cfg.stdinBytes() >> 20;
        return List.of(
                Figure.checked("stdin throughput, agentctl exec -i, " + mib + " MiB, median of " + ROUNDS, oursMedian,
                        Figure.Unit.BYTES_PER_SECOND, pipeMedian, "plain pipe", ">= 0.5x pipe",
                        oursMedian >= 0.5 * pipeMedian),
                Figure.correctness("stdin sha256 of " + mib + " MiB matches (" + shortSum(childSum) + ")",
                        childSum.equals(expectedSum) ? 1 : 0, Figure.Unit.COUNT, 1, "the file's sum", "equal",
                        childSum.equals(expectedSum)),
                Figure.correctness("stdin to a slow reader: bytes delivered", parseOrMinusOne(delivered), Figure.Unit.BYTES,
                        cfg.slowStdinBytes(), "sent", "all", parseOrMinusOne(delivered) == cfg.slowStdinBytes()),
                Figure.checked("stdin to a slow reader: agent RSS growth over idle", growth, Figure.Unit.BYTES,
                        idleRss, "idle RSS", "<= window (1 MiB)", growth <= WINDOW_BYTES));
    }

    private static List<String> agentctl(BenchConfig cfg, AgentProcess process, String... cmd) {
        List<String> argv = new ArrayList<>(List.of(cfg.repo().resolve("scripts/agentctl").toString(),
                "--socket", process.socket().toString(), "exec", "-i", "--"));
        argv.addAll(List.of(cmd));
        return argv;
    }

    /** Runs {@code cmd} with {@code input} on its stdin; bytes per second from start to exit. */
    private static double bytesPerSecond(long bytes, List<String> cmd, Path input) throws Exception {
        long t0 = System.nanoTime();
        runFeeding(cmd, input);
        return bytes * 1e9 / (System.nanoTime() - t0);
    }

    /** Runs {@code cmd} with {@code input} on its stdin and returns its stdout; fails unless it exits 0. */
    private static byte[] runFeeding(List<String> cmd, Path input) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectInput(input.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BoundedRead.Output out = BoundedRead.readAll(p, FEEDING_LIMIT, String.join(" ", cmd));
        if (out.exitCode() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited " + out.exitCode());
        }
        return out.stdout();
    }

    private static String shortSum(String sum) {
        return sum.length() > 12 ? sum.substring(0, 12) + "…" : sum;
    }

    private static long parseOrMinusOne(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The agent's highest RSS while it runs, sampled on a thread of its own. */
    private static final class RssSampler extends Thread {
        private final AgentProcess process;
        private final AtomicLong peak = new AtomicLong();
        private volatile boolean running = true;

        RssSampler(AgentProcess process) {
            super("rss-sampler");
            this.process = process;
            setDaemon(true);
        }

        @Override
        public void run() {
            while (running) {
                try {
                    long rss = process.memory().rssBytes();
                    peak.accumulateAndGet(rss, Math::max);
                    Thread.sleep(RSS_SAMPLE_MILLIS);
                } catch (IOException | InterruptedException e) {
                    return;
                }
            }
        }

        void stopSampling() throws InterruptedException {
            running = false;
            join();
        }

        long peak() {
            return peak.get();
        }
    }
}
