package io.agentd.bench;

import io.agentd.protocol.payload.ExecRequest;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Output throughput of a detachable session (sessions extension: every byte is read, copied and
 * recorded into the session's ring as well as sent) beside the same command run as a plain session
 * (spliced when it can be) on the same agent, interleaved round by round.
 */
final class DetachedOutputBench {
    private static final int ROUNDS = 3;

    private DetachedOutputBench() {}

    static List<Figure> run(BenchConfig cfg, AgentLink agent) throws Exception {
        long bytes = cfg.throughputBytes();
        double[] plain = new double[ROUNDS];
        double[] detached = new double[ROUNDS];
        for (int round = 0; round < ROUNDS; round++) {
            plain[round] = bytesPerSecond(agent, bytes, false);
            detached[round] = bytesPerSecond(agent, bytes, true);
        }
        double plainMedian = Samples.median(plain);
        double detachedMedian = Samples.median(detached);
        return List.of(Figure.info("detachable session stdout throughput, " + (bytes >> 20) + " MiB, median of "
                + ROUNDS, detachedMedian, Figure.Unit.BYTES_PER_SECOND, plainMedian, "plain session"));
    }

    private static double bytesPerSecond(AgentLink agent, long bytes, boolean detachable) throws Exception {
        AtomicLong stdout = new AtomicLong();
        ExecRequest request = ExecRequest.of("head", "-c", Long.toString(bytes), "/dev/zero").withDetachable(detachable);
        long t0 = System.nanoTime();
        AgentLink.Session s = agent.exec(request, (b, off, len) -> stdout.addAndGet(len), (b, off, len) -> { });
        int code = s.awaitExit();
        long elapsed = System.nanoTime() - t0;
        if (code != 0 || stdout.get() != bytes) {
            throw new IOException((detachable ? "detachable" : "plain") + ": head exited " + code + " with "
                    + stdout.get() + " stdout bytes (expected " + bytes + ")");
        }
        return bytes * 1e9 / elapsed;
    }
}
