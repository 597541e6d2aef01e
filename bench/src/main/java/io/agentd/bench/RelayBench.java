package io.agentd.bench;

import io.agentd.protocol.payload.ExecRequest;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The relay ({@code scripts/agentctl relay}, its own JVM as scripts/guest/boot runs it) in front of
 * the agent's unix socket, against the same agent reached directly, in the same run:
 * <ul>
 *   <li>stdout throughput of one client, rounds alternating direct and relayed (the agent serves one
 *       connection at a time, and the relay is one), and the relay process's CPU time per GiB relayed
 *       (its JVM start and the connect are outside the measured span). The rounds go through one
 *       relay that has already relayed three transfers, as scripts/guest/boot's relay has for the
 *       life of a VM, while the direct side is as warm as the bench's own JVM and the agent already
 *       are (one direct transfer warms them up before anything is timed); the first transfer
 *       through the just-started relay (C2 still compiling its loop) is a figure of its own;
 *   <li>many clients at once: N clients x M execs through the relay, beside the same N x M execs
 *       as N concurrent sessions at a time over one direct connection;
 *   <li>the relay's CPU time while one client is connected and nothing is sent.
 * </ul>
 */
final class RelayBench {
    /** Alternated pairs of rounds: on a shared two-core machine single rounds swing by 2x either way. */
    private static final int ROUNDS = 7;
    /** Transfers through the relay before the rounds, the first of them a figure of its own. */
    private static final int RELAY_WARM_UP_TRANSFERS = 3;

    private RelayBench() {}

    /** Sizes: clients x execs each, idle seconds. */
    record Sizes(int clients, int execsEach, int idleSeconds) {
        static Sizes of(BenchConfig cfg) {
            boolean smoke = cfg.throughputBytes() < (64L << 20);
            return smoke ? new Sizes(10, 3, 1) : new Sizes(100, 10, 5);
        }
    }

    static List<Figure> run(BenchConfig cfg, AgentProcess agent) throws Exception {
        Sizes sizes = Sizes.of(cfg);
        agent.connect(socket -> socket); // waits until the agent listens
        long bytes = cfg.throughputBytes();
        double[] direct = new double[ROUNDS];
        double[] relayed = new double[ROUNDS];
        ProcStatus.CpuTime relayCpu = new ProcStatus.CpuTime(0, 0);
        double justStarted;
        long relayRss;
        // The first transfer of a run is slow on any path (this JVM's reader and the agent warm up: a
        // third of the next ones here). One direct transfer takes that before anything is timed, so
        // the relay's first transfer below shows the relay's own warm-up only.
        try (AgentLink link = AgentLink.connect(agent.socket())) {
            ThroughputBench.agentBytesPerSecond(link, bytes);
        }
        try (RelayProcess relay = RelayProcess.start(cfg, agent.socket(), "relay-throughput")) {
            try (AgentLink link = AgentLink.connect(relay.socket)) {
                justStarted = ThroughputBench.agentBytesPerSecond(link, bytes);
            }
            // C2 compiles the relay's loop, and throws some of it away and compiles it again, over
            // its first GiBs: about 3 here (BENCHMARKS.md). Those are a VM's first seconds of bulk
            // output; the rounds measure the relay the VM has after that.
            for (int warmUp = 2; warmUp <= RELAY_WARM_UP_TRANSFERS; warmUp++) {
                try (AgentLink link = AgentLink.connect(relay.socket)) {
                    double rate = ThroughputBench.agentBytesPerSecond(link, bytes);
                    System.err.printf("[bench] relay warm-up transfer %d: %.0f MiB/s%n", warmUp, rate / (1 << 20));
                }
            }
            for (int round = 0; round < ROUNDS; round++) { // interleaved: a burst of load hits both sides
                try (AgentLink link = AgentLink.connect(agent.socket())) {
                    direct[round] = ThroughputBench.agentBytesPerSecond(link, bytes);
                }
                try (AgentLink link = AgentLink.connect(relay.socket)) {
                    ProcStatus.CpuTime before = relay.cpu();
                    relayed[round] = ThroughputBench.agentBytesPerSecond(link, bytes);
                    relayCpu = relayCpu.plus(relay.cpu().minus(before));
                }
                System.err.printf("[bench] relay round %d: direct %.0f, relayed %.0f MiB/s (%.2fx)%n", round + 1,
                        direct[round] / (1 << 20), relayed[round] / (1 << 20), relayed[round] / direct[round]);
            }
            relayRss = relay.memory().rssBytes();
        }
        double directMedian = Samples.median(direct);
        double relayedMedian = Samples.median(relayed);
        double relayCpuPerGib = relayCpu.totalNanos() / ((double) bytes * ROUNDS / (1L << 30));

        int execs = sizes.clients() * sizes.execsEach();
        double directManyNanos;
        try (AgentLink link = AgentLink.connect(agent.socket())) {
            directManyNanos = timed(sizes.clients(), c -> {
                for (int i = 0; i < sizes.execsEach(); i++) {
                    echo(link, c + "-" + i);
                }
            });
        }
        double relayedManyNanos;
        double idleCpuNanos;
        try (RelayProcess relay = RelayProcess.start(cfg, agent.socket(), "relay-many")) {
            relayedManyNanos = timed(sizes.clients(), c -> {
                try (AgentLink link = AgentLink.connect(relay.socket)) {
                    for (int i = 0; i < sizes.execsEach(); i++) {
                        echo(link, c + "-" + i);
                    }
                }
            });
            try (AgentLink idle = AgentLink.connect(relay.socket)) {
                Thread.sleep(1000); // let the connect's work settle
                ProcStatus.CpuTime before = relay.cpu();
                Thread.sleep(sizes.idleSeconds() * 1000L);
                idleCpuNanos = relay.cpu().minus(before).totalNanos();
            }
        }
        double idleShare = idleCpuNanos / (sizes.idleSeconds() * 1e9);
        return List.of(
                Figure.checked("relay: stdout throughput of one client, " + (bytes >> 20) + " MiB, median of " + ROUNDS,
                        relayedMedian, Figure.Unit.BYTES_PER_SECOND, directMedian, "direct connection",
                        ">= 0.8x direct", relayedMedian >= 0.8 * directMedian),
                Figure.info("relay: its CPU time per GiB relayed (" + relayCpu.userShare() + ")", relayCpuPerGib,
                        Figure.Unit.NANOS, Double.NaN, ""),
                Figure.info("relay: stdout throughput of the first " + (bytes >> 20) + " MiB through a relay just started",
                        justStarted, Figure.Unit.BYTES_PER_SECOND, directMedian, "direct connection"),
                // A relay runs for a VM's whole life, one per VM: what it holds after bulk output.
                Figure.info("relay: its RSS after relaying " + (bytes >> 20) * (RELAY_WARM_UP_TRANSFERS + ROUNDS) + " MiB",
                        relayRss, Figure.Unit.BYTES, Double.NaN, ""),
                Figure.info("relay: " + sizes.clients() + " clients x " + sizes.execsEach() + " echo each, wall time",
                        relayedManyNanos, Figure.Unit.NANOS, directManyNanos,
                        execs + " echo, " + sizes.clients() + " at a time, one direct connection"),
                // Information, not a target: 10 ms ticks, so a short idle spell may honestly show 0.
                Figure.info("relay: CPU time while idle for " + sizes.idleSeconds() + " s, one client connected ("
                        + String.format(java.util.Locale.ROOT, "%.2f", idleShare * 100) + "% of a core)",
                        idleCpuNanos, Figure.Unit.NANOS, Double.NaN, ""));
    }

    private static void echo(AgentLink link, String word) throws Exception {
        AgentLink.Session s = link.exec(ExecRequest.of("echo", word), AgentLink.Sink.DISCARD, AgentLink.Sink.DISCARD);
        int code = s.awaitExit();
        if (code != 0) {
            throw new IOException("echo " + word + " exited " + code);
        }
    }

    private interface ClientWork {
        void run(int client) throws Exception;
    }

    /** Runs {@code work} for clients 0..n-1 at once; the wall time from the first start to the last end. */
    private static double timed(int n, ClientWork work) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            long t0 = System.nanoTime();
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < n; c++) {
                int client = c;
                done.add(pool.submit(() -> {
                    work.run(client);
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(AgentLink.WAIT.toSeconds(), TimeUnit.SECONDS);
            }
            return System.nanoTime() - t0;
        } finally {
            pool.shutdownNow();
        }
    }

    /** {@code scripts/agentctl relay} as a process of its own, its output in the run's work directory. */
    private static final class RelayProcess implements AutoCloseable {
        final Path socket;
        private final Process process;

        private RelayProcess(Path socket, Process process) {
            this.socket = socket;
            this.process = process;
        }

        static RelayProcess start(BenchConfig cfg, Path port, String name) throws Exception {
            Path socket = cfg.workDir().resolve(name + ".sock");
            Process p = new ProcessBuilder(cfg.repo().resolve("scripts/agentctl").toString(), "relay",
                    "--port", port.toString(), "--listen", socket.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(cfg.workDir().resolve(name + ".log").toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
            RelayProcess relay = new RelayProcess(socket, p);
            long deadline = System.nanoTime() + AgentLink.WAIT.toNanos();
            while (!Files.exists(socket)) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    relay.close();
                    throw new IOException("the relay did not start; its log:\n"
                            + Files.readString(cfg.workDir().resolve(name + ".log")));
                }
                Thread.sleep(5);
            }
            return relay;
        }

        ProcStatus.CpuTime cpu() throws IOException {
            return ProcStatus.CpuTime.of(process.pid()); // scripts/agentctl execs java: this is the JVM
        }

        ProcStatus memory() throws IOException {
            return ProcStatus.of(process.pid());
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
    }
}
