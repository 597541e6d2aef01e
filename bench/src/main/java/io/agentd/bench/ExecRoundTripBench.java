package io.agentd.bench;

import io.agentd.protocol.payload.ExecRequest;
import java.io.IOException;
import java.util.List;
import java.util.Locale;

/**
 * 1. Exec round trip for /bin/true, sequential: request -> started -> exited through the agent,
 * beside the C floor (posix_spawn + waitpid) and qemu-ga (guest-exec, then guest-exec-status polled
 * until exited), all in the same run. One more floor says how much of the gap is the agent's Java and
 * protocol: C starting /bin/true through the agent's native shim (agentd_spawn, the same call and
 * child-side steps the agent's exec makes).
 */
final class ExecRoundTripBench {
    private static final String TRUE = "/bin/true";
    /** Issue 12's target for the agent's own CPU per exec (the child's is the child's). */
    private static final double MAX_CPU_PER_EXEC_NANOS = 150_000;

    private ExecRoundTripBench() {}

    static List<Figure> run(BenchConfig cfg, AgentProcess process, AgentLink agent) throws Exception {
        NativeFloor.Result floor = NativeFloor.run(cfg.spawnFloor(), cfg.execRuns(), cfg.execWarmup());
        NativeFloor.Result viaShim = NativeFloor.run(cfg.spawnFloor(), cfg.execRuns(), cfg.execWarmup(),
                "--shim", cfg.shimLibrary().toString());
        QgaRuns qgaRuns = qemuGuestAgent(cfg);
        Samples qga = qgaRuns.samples();
        ProcStatus.CpuTime cpu0 = process.cpu();
        warmUp(cfg, agent);
        ProcStatus.CpuTime cpuWarm = process.cpu();
        Samples ours = measure(cfg, agent);
        ProcStatus.CpuTime cpuEnd = process.cpu();
        ProcStatus.CpuTime cpu = cpuEnd.minus(cpu0);
        double cpuPerExec = (double) cpu.totalNanos() / (cfg.execWarmup() + cfg.execRuns());
        // Without the warm-up's class loading and JIT compilation: what each further exec costs.
        double cpuPerWarmExec = (double) cpuEnd.minus(cpuWarm).totalNanos() / cfg.execRuns();

        double floorP50 = floor.p50Micros() * 1e3;
        double floorP99 = floor.p99Micros() * 1e3;
        double oursP50 = ours.percentile(50);
        double qgaP50 = qga.percentile(50);
        String n = " (n=" + ours.count() + ")";
        return List.of(
                Figure.checked("exec /bin/true p50 vs C floor" + n, oursP50, Figure.Unit.NANOS, floorP50,
                        "C floor", "<= 1.5x floor", oursP50 <= 1.5 * floorP50),
                Figure.checked(String.format(Locale.ROOT, "exec /bin/true p50 vs qemu-ga (%.1f status polls/exec)",
                                qgaRuns.pollsPerExec()), oursP50, Figure.Unit.NANOS, qgaP50,
                        "qemu-ga", "< 1/3 of qemu-ga", oursP50 < qgaP50 / 3),
                Figure.info("exec /bin/true p50 vs C spawn through the native shim", oursP50, Figure.Unit.NANOS,
                        viaShim.p50Micros() * 1e3, "shim floor"),
                Figure.checked("exec: agent CPU time per exec (" + cpu.userShare() + ")", cpuPerExec,
                        Figure.Unit.NANOS, Double.NaN, "", "<= 150 us", cpuPerExec <= MAX_CPU_PER_EXEC_NANOS),
                Figure.info("exec: agent CPU time per exec after the warm-up", cpuPerWarmExec, Figure.Unit.NANOS,
                        Double.NaN, ""),
                Figure.checked("exec /bin/true p99 vs C floor", ours.percentile(99), Figure.Unit.NANOS, floorP99,
                        "C floor", "<= 3x floor", ours.percentile(99) <= 3 * floorP99),
                Figure.info("exec /bin/true p99 vs qemu-ga", ours.percentile(99), Figure.Unit.NANOS,
                        qga.percentile(99), "qemu-ga"));
    }

    static void warmUp(BenchConfig cfg, AgentLink agent) throws Exception {
        ExecRequest request = ExecRequest.of(TRUE);
        for (int i = 0; i < cfg.execWarmup(); i++) {
            once(agent, request);
        }
    }

    static Samples measure(BenchConfig cfg, AgentLink agent) throws Exception {
        ExecRequest request = ExecRequest.of(TRUE);
        Samples samples = new Samples(cfg.execRuns());
        for (int i = 0; i < cfg.execRuns(); i++) {
            long t0 = System.nanoTime();
            once(agent, request);
            samples.add(System.nanoTime() - t0);
        }
        return samples;
    }

    private static void once(AgentLink agent, ExecRequest request) throws Exception {
        int code = roundTrip(agent, request);
        if (code != 0) {
            throw new IOException(TRUE + " exited " + code + " under the agent");
        }
    }

    /** One exec through the agent, from request to exit: its exit code. */
    static int roundTrip(AgentLink agent, ExecRequest request) throws Exception {
        AgentLink.Session s = agent.exec(request, AgentLink.Sink.DISCARD, AgentLink.Sink.DISCARD);
        s.awaitStarted();
        return s.awaitExit();
    }

    /** qemu-ga's round trips and how many guest-exec-status polls each took on average. */
    record QgaRuns(Samples samples, double pollsPerExec) {}

    static QgaRuns qemuGuestAgent(BenchConfig cfg) throws Exception {
        try (QemuGuestAgent qga = QemuGuestAgent.start(cfg.workDir().resolve("qga-exec"))) {
            for (int i = 0; i < cfg.execWarmup(); i++) {
                qga.execUntilExited(TRUE);
            }
            Samples samples = new Samples(cfg.execRuns());
            long polls = 0;
            for (int i = 0; i < cfg.execRuns(); i++) {
                long t0 = System.nanoTime();
                polls += qga.execUntilExited(TRUE);
                samples.add(System.nanoTime() - t0);
            }
            return new QgaRuns(samples, (double) polls / cfg.execRuns());
        }
    }
}
