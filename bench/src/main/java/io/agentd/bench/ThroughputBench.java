package io.agentd.bench;

import io.agentd.protocol.payload.ExecRequest;
import java.io.IOException;
import java.util.List;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * 2. Output throughput: {@code head -c N /dev/zero} through the agent, every byte counted by the
 * host client, beside the same command's stdout read straight from a pipe by a counting reader in
 * this JVM. Both clocks run from the request (or the spawn) to the exit. CPU times are the agent's and
 * this JVM's (the client's) over the agent's runs. Each side transfers once first, outside the
 * medians: a first transfer runs at a fraction of the later ones (first-touched memory, the JIT).
 */
final class ThroughputBench {
    private static final int PIPE_READ_BUFFER = 64 * 1024;
    /** Each side runs this many times; the medians are compared (one run swings 2x on a shared machine). */
    private static final int ROUNDS = 7;

    private ThroughputBench() {}

    static List<Figure> run(BenchConfig cfg, AgentProcess process, AgentLink agent) throws Exception {
        long bytes = cfg.throughputBytes();
        double[] pipe = new double[ROUNDS];
        double[] ours = new double[ROUNDS];
        ProcStatus.CpuTime agentCpu = new ProcStatus.CpuTime(0, 0);
        ProcStatus.CpuTime clientCpu = new ProcStatus.CpuTime(0, 0);
        pipeBytesPerSecond(bytes);
        agentBytesPerSecond(agent, bytes);
        for (int round = 0; round < ROUNDS; round++) { // interleaved, so a burst of load hits both sides
            pipe[round] = pipeBytesPerSecond(bytes);
            ProcStatus.CpuTime agentCpu0 = process.cpu();
            ProcStatus.CpuTime clientCpu0 = ProcStatus.CpuTime.ofThisProcess();
            ours[round] = agentBytesPerSecond(agent, bytes);
            agentCpu = agentCpu.plus(process.cpu().minus(agentCpu0));
            clientCpu = clientCpu.plus(ProcStatus.CpuTime.ofThisProcess().minus(clientCpu0));
            System.err.printf("[bench] throughput round %d: pipe %.0f, agent %.0f MiB/s (%.2fx)%n", round + 1,
                    pipe[round] / (1 << 20), ours[round] / (1 << 20), ours[round] / pipe[round]);
        }
        double pipeMedian = Samples.median(pipe);
        double oursMedian = Samples.median(ours);
        double gib = (double) bytes * ROUNDS / (1L << 30);
        double agentCpuPerGib = agentCpu.totalNanos() / gib;
        double clientCpuPerGib = clientCpu.totalNanos() / gib;
        return List.of(Figure.checked("stdout throughput, " + (bytes >> 20) + " MiB, median of " + ROUNDS, oursMedian,
                        Figure.Unit.BYTES_PER_SECOND, pipeMedian, "plain pipe", ">= 0.8x pipe",
                        oursMedian >= 0.8 * pipeMedian),
                Figure.info("throughput: agent CPU time per GiB (" + agentCpu.userShare() + ")", agentCpuPerGib, Figure.Unit.NANOS, Double.NaN, ""),
                Figure.info("throughput: host client (bench JVM) CPU time per GiB (" + clientCpu.userShare() + ")",
                        clientCpuPerGib,
                        Figure.Unit.NANOS, Double.NaN, ""));
    }

    private static String[] command(long bytes) {
        return new String[] {"head", "-c", Long.toString(bytes), "/dev/zero"};
    }

    static double agentBytesPerSecond(AgentLink agent, long bytes) throws Exception {
        AtomicLong stdout = new AtomicLong();
        AtomicLong stderr = new AtomicLong();
        String[] cmd = command(bytes);
        ExecRequest request = ExecRequest.of(cmd[0], cmd[1], cmd[2], cmd[3]);
        long t0 = System.nanoTime();
        AgentLink.Session s = agent.exec(request, (b, off, len) -> stdout.addAndGet(len),
                (b, off, len) -> stderr.addAndGet(len));
        int code = s.awaitExit();
        long elapsed = System.nanoTime() - t0;
        if (code != 0 || stdout.get() != bytes || stderr.get() != 0) {
            throw new IOException("agent: head exited " + code + " with " + stdout.get() + " stdout bytes (expected "
                    + bytes + ") and " + stderr.get() + " stderr bytes");
        }
        return bytes * 1e9 / elapsed;
    }

    static double pipeBytesPerSecond(long bytes) throws Exception {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(command(bytes)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        AtomicLong count = new AtomicLong();
        int code = BoundedRead.drain(p, Duration.ofSeconds(120), PIPE_READ_BUFFER, "pipe: head",
                (b, n) -> count.addAndGet(n));
        if (code != 0 || count.get() != bytes) {
            throw new IOException("pipe: head exited " + code + " with " + count.get() + " bytes, expected " + bytes);
        }
        return bytes * 1e9 / (System.nanoTime() - t0);
    }
}
