package io.agentd.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * 4. Footprint: time from the launcher's start to core.ready and the agent's RSS after a second idle
 * (medians of several fresh launches), with the JVM flags the launcher uses. Both are set beside the
 * JVM floor (a bare class run by the agent's own java command, {@link JvmFloor}): its RSS, and its time
 * from start to main(), which is what a Java agent cannot go below on this machine; qemu-ga's idle
 * RSS and start-to-first answer beside those.
 */
final class FootprintBench {
    private static final long IDLE_SETTLE_MILLIS = 1000;
    /** What the agent may add to the JVM floor (issue 17). */
    private static final long OVER_FLOOR_BYTES = 6L << 20;

    /** The figures, plus the JVM flags the launcher gave the agent (printed with the table). */
    record Result(List<Figure> figures, String jvmFlags) {}

    private FootprintBench() {}

    static Result run(BenchConfig cfg) throws Exception {
        Samples ready = new Samples(cfg.readyLaunches());
        Samples idleRss = new Samples(cfg.readyLaunches()); // bytes, not nanoseconds: same medians
        String flags = "";
        List<String> jvmCommand = List.of();
        for (int i = 0; i < cfg.readyLaunches(); i++) {
            try (AgentProcess process = AgentProcess.start(cfg, "footprint-" + i);
                 AgentLink agent = AgentLink.connect(process)) {
                ready.add(agent.readyAtNanos() - process.startNanos());
                Thread.sleep(IDLE_SETTLE_MILLIS);
                agent.pingNanos(); // still answering after the idle second
                idleRss.add(process.memory().rssBytes());
                flags = process.jvmFlags();
                jvmCommand = process.jvmCommand();
            }
        }
        Samples floorRss = new Samples(cfg.readyLaunches());
        Samples floorStart = new Samples(cfg.readyLaunches());
        List<String> floorCommand = JvmFloor.command(jvmCommand);
        for (int i = 0; i < cfg.readyLaunches(); i++) {
            JvmFloor.Run run = JvmFloor.run(floorCommand, IDLE_SETTLE_MILLIS);
            floorRss.add(run.rssBytes());
            floorStart.add(run.startToMainNanos());
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
        long floorP50 = floorRss.percentile(50);
        List<Figure> figures = new ArrayList<>();
        figures.add(Figure.info("JVM floor: a bare class idle under the agent's java command, median of "
                + floorRss.count(), floorP50, Figure.Unit.BYTES, qgaRss, "qemu-ga"));
        figures.add(Figure.checked("agent idle RSS, median of " + idleRss.count(), rssP50, Figure.Unit.BYTES,
                floorP50, "JVM floor", "<= floor + 6 MiB", rssP50 <= floorP50 + OVER_FLOOR_BYTES));
        figures.add(Figure.checked("launcher start -> core.ready, median of " + ready.count(), readyP50,
                Figure.Unit.NANOS, qgaReady, "qemu-ga first answer", "<= 100 ms", readyP50 <= 100e6));
        // What of the ready time is the JVM's own start on this machine, which no agent code can cut.
        figures.add(Figure.info("JVM floor: the agent's java command start -> a bare main() running, median of "
                + floorStart.count(), floorStart.percentile(50), Figure.Unit.NANOS, readyP50, "agent's ready"));
        return new Result(figures, flags);
    }
}
