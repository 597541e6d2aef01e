package io.agentd.bench;

import io.agentd.protocol.payload.ExecRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * 7. Connections: exec round trips of /bin/true on one host connection alone (the baseline, same
 * agent, same run), then spread over {@value #HOSTS} host connections at once, then on one
 * connection while another host has a flood queued and reads nothing (its reader blocks in the
 * output listener). Every exec must exit 0; the times are figures for the report, not targets.
 */
final class ConnectionsBench {
    static final int HOSTS = 8;
    /** What the stalled host's command writes: far past the agent's high-water mark. */
    private static final long FLOOD_BYTES = 256L << 20;

    private ConnectionsBench() {}

    static List<Figure> run(BenchConfig cfg, AgentProcess process, AgentLink agent) throws Exception {
        ExecRoundTripBench.warmUp(cfg, agent);
        long t0 = System.nanoTime();
        Samples alone = ExecRoundTripBench.measure(cfg, agent);
        double aloneRate = cfg.execRuns() / ((System.nanoTime() - t0) / 1e9);

        int perHost = Math.max(1, cfg.execRuns() / HOSTS);
        List<AgentLink> hosts = new ArrayList<>();
        Samples together = new Samples(perHost * HOSTS);
        ExecutorService pool = Executors.newFixedThreadPool(HOSTS);
        long wall;
        try {
            for (int i = 0; i < HOSTS; i++) {
                hosts.add(AgentLink.connect(process));
            }
            List<Future<Samples>> runs = new ArrayList<>();
            BenchConfig share = cfg.withExecRuns(perHost);
            long t1 = System.nanoTime();
            for (AgentLink host : hosts) {
                runs.add(pool.submit(() -> ExecRoundTripBench.measure(share, host)));
            }
            for (Future<Samples> run : runs) {
                together.addAll(run.get(AgentLink.WAIT.toSeconds(), TimeUnit.SECONDS));
            }
            wall = System.nanoTime() - t1;
        } finally {
            pool.shutdownNow();
            for (AgentLink host : hosts) {
                host.close();
            }
        }
        double togetherRate = together.count() / (wall / 1e9);

        Samples beside;
        CountDownLatch release = new CountDownLatch(1);
        try (AgentLink stalled = AgentLink.connect(process)) {
            AgentLink.Session flood = stalled.exec(ExecRequest.of("head", "-c", Long.toString(FLOOD_BYTES),
                    "/dev/zero"), (b, off, len) -> await(release), AgentLink.Sink.DISCARD);
            flood.awaitStarted();
            Thread.sleep(200); // its queue fills and its session stops being read
            beside = ExecRoundTripBench.measure(cfg, agent);
            release.countDown();
            flood.signal(9);
            flood.awaitExit();
        }

        // ExecRoundTripBench.measure throws on any exit but 0: reaching here means every one exited 0.
        int execs = alone.count() + together.count() + beside.count();
        String n = " (n=" + together.count() + ")";
        return List.of(
                Figure.checked("connections: execs on " + HOSTS + " hosts at once, exited 0", execs,
                        Figure.Unit.COUNT, execs, "run", "all", true),
                Figure.info("connections: exec p50, " + HOSTS + " hosts at once vs one alone" + n,
                        together.percentile(50), Figure.Unit.NANOS, alone.percentile(50), "one alone"),
                Figure.info("connections: execs per second, " + HOSTS + " hosts at once vs one alone", togetherRate,
                        Figure.Unit.COUNT, aloneRate, "one alone"),
                Figure.info("connections: exec p50 beside a host that reads nothing vs alone (n=" + beside.count()
                        + ")", beside.percentile(50), Figure.Unit.NANOS, alone.percentile(50), "alone"));
    }

    private static void await(CountDownLatch release) {
        try {
            release.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
