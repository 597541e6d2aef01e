package io.agentd.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * 4. Footprint: time from the launcher's start to core.ready and the agent's RSS after a second idle
 * (medians of several fresh launches), with the JVM flags the launcher uses; qemu-ga's start-to-first
 * answer and idle RSS beside them.
 */
final class FootprintBench {
    private static final long IDLE_SETTLE_MILLIS = 1000;

    /** The figures, plus the JVM flags the launcher gave the agent (printed with the table). */
    record Result(List<Figure> figures, String jvmFlags) {}

    private FootprintBench() {}

    static Result run(BenchConfig cfg) throws Exception {
        Samples ready = new Samples(cfg.readyLaunches());
        Samples idleRss = new Samples(cfg.readyLaunches()); // bytes, not nanoseconds: same medians
        String flags = "";
        for (int i = 0; i < cfg.readyLaunches(); i++) {
            try (AgentProcess process = AgentProcess.start(cfg, "footprint-" + i);
                 AgentLink agent = AgentLink.connect(process)) {
                ready.add(agent.readyAtNanos() - process.startNanos());
                Thread.sleep(IDLE_SETTLE_MILLIS);
                agent.pingNanos(); // still answering after the idle second
                idleRss.add(process.memory().rssBytes());
                flags = process.jvmFlags();
            }
        }
        long qgaReady;
        long qgaRss;
        try (QemuGuestAgent qga = QemuGuestAgent.start(cfg.workDir().resolve("qga-footprint"))) {
            qgaReady = qga.startToReadyNanos();
            Thread.sleep(IDLE_SETTLE_MILLIS);
            qga.sync();
            qgaRss = ProcStatus.of(qga.pid()).rssBytes();
        }
        long readyP50 = ready.percentile(50);
        long rssP50 = idleRss.percentile(50);
        List<Figure> figures = new ArrayList<>();
        figures.add(Figure.checked("agent idle RSS, median of " + idleRss.count(), rssP50, Figure.Unit.BYTES,
                qgaRss, "qemu-ga", "< 48 MiB", rssP50 < 48L << 20));
        figures.add(Figure.checked("launcher start -> core.ready, median of " + ready.count(), readyP50,
                Figure.Unit.NANOS, qgaReady, "qemu-ga first answer", "< 300 ms", readyP50 < 300e6));
        return new Result(figures, flags);
    }
}
