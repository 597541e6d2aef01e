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
 * output listener). Every exec must exit 0 (the hosts at once are counted, the others throw at the
 * first that does not); the times are figures for the report, not targets.
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
            long t1 = System.nanoTime();
            for (AgentLink host : hosts) {
                runs.add(pool.submit(() -> exitedZero(host, perHost)));
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

        // The round trips alone and beside the stalled host throw on any exit but 0 (measure).
        String n = " (n=" + together.count() + ")";
        return List.of(
                togetherExitedZero(together.count(), perHost * HOSTS),
                Figure.info("connections: exec p50, " + HOSTS + " hosts at once vs one alone" + n,
                        together.percentile(50), Figure.Unit.NANOS, alone.percentile(50), "one alone"),
                Figure.info("connections: execs per second, " + HOSTS + " hosts at once vs one alone", togetherRate,
                        Figure.Unit.COUNT, aloneRate, "one alone"),
                Figure.info("connections: exec p50 beside a host that reads nothing vs alone (n=" + beside.count()
                        + ")", beside.percentile(50), Figure.Unit.NANOS, alone.percentile(50), "alone"));
    }

    /** The execs of the {@value #HOSTS} hosts at once that exited 0, against those started. */
    static Figure togetherExitedZero(int exitedZero, int started) {
        return Figure.correctness("connections: execs on " + HOSTS + " hosts at once, exited 0", exitedZero,
                Figure.Unit.COUNT, started, "started", "all", exitedZero == started);
    }

    /**
     * One host's share of round trips of /bin/true: the times of those that exited 0. Another exit is
     * counted out rather than thrown, so the figure says how many of all the hosts' execs went wrong.
     */
    private static Samples exitedZero(AgentLink host, int execs) throws Exception {
        ExecRequest request = ExecRequest.of("/bin/true");
        Samples samples = new Samples(execs);
        for (int i = 0; i < execs; i++) {
            long t0 = System.nanoTime();
            if (ExecRoundTripBench.roundTrip(host, request) == 0) {
                samples.add(System.nanoTime() - t0);
            }
        }
        return samples;
    }

    private static void await(CountDownLatch release) {
        try {
            release.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
