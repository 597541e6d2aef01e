package io.agentd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Runs issue 7's suite and prints one table: figure, value, baseline, ratio, target, pass/miss.
 *
 * <pre>
 * BenchMain --repo DIR --native DIR [--smoke] [--only footprint,exec,pty,throughput,stdin,concurrency,many-sessions,relay,fs,connections,detached,agentctl]
 *           [--concurrency-workload perl|sh] [--markdown FILE] [--agent-arg ARG]...
 * </pre>
 * A benchmark that cannot run becomes a "failed" row and the exit status is 1; a missed target is a
 * result, not a failure. After any miss the agents' logs are kept (the path is printed; see {@link WorkDir}).
 */
public final class BenchMain {
    static final List<String> ALL = List.of("footprint", "exec", "pty", "throughput", "stdin", "concurrency",
            "many-sessions", "relay", "fs", "connections", "detached", "agentctl");

    private BenchMain() {}

    /** The figures of one run and the facts printed around them. */
    record Report(List<Figure> figures, String machine, String loadBefore, String loadAfter, String agentFlags) {
        boolean allRan() {
            return figures.stream().noneMatch(f -> f.name().contains("FAILED"));
        }

        String text() {
            return "machine: " + machine + "\nagent JVM flags (from the launcher): " + agentFlags
                    + "\nload average before: " + loadBefore + ", after: " + loadAfter + "\n\n"
                    + ResultTable.text(figures);
        }

        String markdown() {
            return "- machine: " + machine + "\n- agent JVM flags (from the launcher): `" + agentFlags + "`"
                    + "\n- load average before: " + loadBefore + ", after: " + loadAfter + "\n\n"
                    + ResultTable.markdown(figures);
        }
    }

    public static void main(String[] args) throws Exception {
        BenchArgs parsed;
        try {
            parsed = BenchArgs.parse(args);
        } catch (BenchArgs.UsageError e) {
            System.err.println("bench: " + e.getMessage());
            System.exit(2);
            return;
        }
        Path work = Files.createTempDirectory("agentd-bench");
        StopHook stopHook = StopHook.install(work, System.out);
        BenchConfig cfg = parsed.smoke()
                ? BenchConfig.smoke(parsed.repo(), parsed.nativeDir(), work, parsed.agentArgs())
                : BenchConfig.full(parsed.repo(), parsed.nativeDir(), work, parsed.agentArgs());
        Report report = run(cfg, parsed.only(), parsed.workload(), System.out);
        System.out.println();
        System.out.print(report.text());
        if (parsed.markdown() != null) {
            Files.writeString(parsed.markdown(), report.markdown());
        }
        if (!stopHook.takeWorkDir()) {
            return; // stopped meanwhile: the hook keeps the logs, and System.exit would wait for it forever
        }
        if (report.figures().stream().anyMatch(f -> f.verdict() == Figure.Verdict.MISS)) {
            WorkDir.keepLogsOnly(work);
            System.out.println("agent logs kept in " + work);
        } else {
            WorkDir.delete(work);
        }
        System.exit(report.allRan() ? 0 : 1);
    }

    /** Runs the named benchmarks in a fixed order; progress lines go to {@code progress}. */
    static Report run(BenchConfig cfg, List<String> only, ConcurrencyBench.Workload workload,
                      java.io.PrintStream progress) throws Exception {
        String loadBefore = Machine.load();
        List<Figure> figures = new ArrayList<>();
        String flags = "(not measured)";
        for (String name : ALL) {
            if (!only.contains(name)) {
                continue;
            }
            progress.println("[bench] " + name + " ...");
            long t0 = System.nanoTime();
            try {
                switch (name) {
                    case "footprint" -> {
                        FootprintBench.Result r = FootprintBench.run(cfg);
                        figures.addAll(r.figures());
                        flags = r.jvmFlags();
                    }
                    case "concurrency" -> withFreshAgent(cfg, name, (process, agent) ->
                            figures.addAll(ConcurrencyBench.run(cfg, process, agent, workload)));
                    case "many-sessions" -> withFreshAgent(cfg, name, (process, agent) -> {
                        try (AgentLink other = AgentLink.connect(process.socket())) {
                            figures.addAll(ManySessionsBench.run(cfg.manySessions(),
                                    new LocalAgentProbe(process.jvm().pid()), agent, new Pinger(other),
                                    "on another connection"));
                        }
                    });
                    case "connections" -> withFreshAgent(cfg, name, (process, agent) ->
                            figures.addAll(ConnectionsBench.run(cfg, process, agent)));
                    case "exec" -> withFreshAgent(cfg, name, (process, agent) -> figures.addAll(ExecRoundTripBench.run(cfg, process, agent)));
                    case "pty" -> withFreshAgent(cfg, name, (p, agent) -> figures.addAll(PtyEchoBench.run(cfg, agent)));
                    case "throughput" -> withFreshAgent(cfg, name, (process, agent) -> figures.addAll(ThroughputBench.run(cfg, process, agent)));
                    // The relay's clients and the direct ones take turns: no connection held here.
                    case "relay" -> withAgentProcess(cfg, name, process -> figures.addAll(RelayBench.run(cfg, process)));
                    // The bench is the host here, on a bare connection of its own (FsWire).
                    case "fs" -> withAgentProcess(cfg, name, process -> figures.addAll(FsBench.run(cfg, process)));
                    // agentctl is the host here: the bench holds no connection of its own.
                    case "stdin" -> withAgentProcess(cfg, name, process -> figures.addAll(StdinBench.run(cfg, process)));
                    // agentctl's own start-up: it connects itself, once per launch.
                    case "agentctl" -> withAgentProcess(cfg, name, process -> figures.addAll(AgentctlStartBench.run(cfg, process)));
                    case "detached" -> withFreshAgent(cfg, name, (p, agent) -> figures.addAll(DetachedOutputBench.run(cfg, agent)));
                    default -> throw new IllegalArgumentException(name);
                }
            } catch (Exception e) {
                figures.add(Figure.failed(name, e));
                e.printStackTrace(progress);
            }
            progress.printf(Locale.ROOT, "[bench] %s done in %.1f s%n", name, (System.nanoTime() - t0) / 1e9);
        }
        return new Report(figures, Machine.describe(), loadBefore, Machine.load(), flags);
    }

    private interface AgentWork {
        void run(AgentProcess process, AgentLink agent) throws Exception;
    }

    /** Each benchmark gets its own agent, so one's heap, threads or peak RSS never colour another's. */
    private static void withFreshAgent(BenchConfig cfg, String name, AgentWork work) throws Exception {
        try (AgentProcess process = AgentProcess.start(cfg, name)) {
            try (AgentLink agent = AgentLink.connect(process)) {
                work.run(process, agent);
            } catch (Exception e) {
                throw new IOException(e.getMessage() + "\nagent log tail:\n" + process.logTail(), e);
            }
        }
    }

    private interface ProcessWork {
        void run(AgentProcess process) throws Exception;
    }

    /** A fresh agent for a benchmark that connects to it in its own way (or lets agentctl do it). */
    private static void withAgentProcess(BenchConfig cfg, String name, ProcessWork work) throws Exception {
        try (AgentProcess process = AgentProcess.start(cfg, name)) {
            try {
                work.run(process);
            } catch (Exception e) {
                throw new IOException(e.getMessage() + "\nagent log tail:\n" + process.logTail(), e);
            }
        }
    }
}
