package io.agentd.bench;

import io.agentd.protocol.payload.ExecRequest;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

/**
 * 3. Concurrency: N sessions started at once, each printing "line i" every 100 ms; every exit code
 * and every line must arrive. A side thread pings the agent every 10 ms for the whole run (its p99
 * is compared with the same agent's idle ping p99), and the agent's peak RSS (VmHWM) is read at the
 * end; the agent is a fresh one, so the peak covers its start and this run only.
 */
final class ConcurrencyBench {
    /** How a session paces its lines. */
    enum Workload {
        /** One perl process per session sleeping in select(): the agent is what is measured. */
        PERL,
        /** The shell loop of the example: a sleep(1) process per line, so 50 spawns per session. */
        SH
    }

    static final int IDLE_PINGS = 200;
    private static final long RUN_TIMEOUT_SECONDS = 300;

    private ConcurrencyBench() {}

    static ExecRequest request(Workload workload, int lines) {
        return switch (workload) {
            case PERL -> ExecRequest.of("perl", "-e",
                    "$| = 1; for my $i (1.." + lines + ") { print \"line $i\\n\"; select(undef, undef, undef, 0.1) }");
            case SH -> ExecRequest.of("sh", "-c",
                    "for i in $(seq " + lines + "); do echo line $i; sleep 0.1; done");
        };
    }

    /** Bytes of "line 1\n" .. "line N\n". */
    static long expectedBytesPerSession(int lines) {
        long total = 0;
        for (int i = 1; i <= lines; i++) {
            total += ("line " + i + "\n").length();
        }
        return total;
    }

    static List<Figure> run(BenchConfig cfg, AgentProcess process, AgentLink agent, Workload workload)
            throws Exception {
        int sessions = cfg.sessions();
        int lines = cfg.linesPerSession();
        Samples idlePings = new Samples(IDLE_PINGS);
        for (int i = 0; i < IDLE_PINGS; i++) {
            idlePings.add(agent.pingNanos());
        }

        AtomicIntegerArray linesSeen = new AtomicIntegerArray(sessions);
        AtomicLong bytesSeen = new AtomicLong();
        AtomicLong stderrBytes = new AtomicLong();
        ProcStatus.CpuTime cpu0 = process.cpu();
        Pinger pinger = new Pinger(agent);
        pinger.start();
        long t0 = System.nanoTime();
        List<AgentLink.Session> running = new ArrayList<>(sessions);
        ExecRequest request = request(workload, lines);
        for (int i = 0; i < sessions; i++) {
            int session = i;
            running.add(agent.exec(request, (b, off, len) -> {
                bytesSeen.addAndGet(len);
                int newlines = 0;
                for (int k = off; k < off + len; k++) {
                    if (b[k] == '\n') {
                        newlines++;
                    }
                }
                linesSeen.addAndGet(session, newlines);
            }, (b, off, len) -> stderrBytes.addAndGet(len)));
        }
        int exitedZero = 0;
        Exception firstProblem = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(RUN_TIMEOUT_SECONDS);
        for (AgentLink.Session s : running) {
            try {
                if (s.awaitExit(Math.max(1, deadline - System.nanoTime())) == 0) {
                    exitedZero++;
                }
            } catch (Exception e) { // a failed start, a refusal or a timeout: counted, the first one shown
                if (firstProblem == null) {
                    firstProblem = e;
                }
            }
        }
        if (firstProblem != null) {
            System.err.println("[bench] concurrency: first session that did not exit: " + firstProblem);
        }
        long wall = System.nanoTime() - t0;
        Samples busyPings = pinger.stopAndCollect();
        long peakRss = process.memory().peakRssBytes();
        ProcStatus.CpuTime cpu = process.cpu().minus(cpu0);

        long expectedLines = (long) sessions * lines;
        long linesTotal = 0;
        int completeSessions = 0;
        for (int i = 0; i < sessions; i++) {
            linesTotal += linesSeen.get(i);
            if (linesSeen.get(i) == lines) {
                completeSessions++;
            }
        }
        boolean allBytes = bytesSeen.get() == sessions * expectedBytesPerSession(lines) && stderrBytes.get() == 0;
        String tag = sessions + " sessions";
        double busyP99 = busyPings.percentile(99);
        return List.of(
                Figure.correctness(tag + ": exited 0", exitedZero, Figure.Unit.COUNT, sessions, "started",
                        "all", exitedZero == sessions),
                Figure.correctness(tag + ": lines received", linesTotal, Figure.Unit.COUNT, expectedLines, "printed",
                        "all, every byte", linesTotal == expectedLines && completeSessions == sessions && allBytes),
                Figure.checked(tag + ": ping p99 during run (n=" + busyPings.count() + ")", busyP99,
                        Figure.Unit.NANOS, idlePings.percentile(99), "idle ping p99", "< 50 ms",
                        busyP99 < 50e6),
                Figure.checked(tag + ": agent peak RSS (VmHWM)", peakRss, Figure.Unit.BYTES, Double.NaN, "",
                        "< 256 MiB", peakRss < 256L << 20),
                Figure.info(tag + ": wall time, first request to last exit", wall, Figure.Unit.NANOS,
                        lines * 100e6, "lines x 100 ms"),
                Figure.info(tag + ": agent CPU time over the run (" + cpu.userShare() + ")", cpu.totalNanos(),
                        Figure.Unit.NANOS, Double.NaN, ""),
                Figure.info(tag + ": idle ping p50 before the run", idlePings.percentile(50), Figure.Unit.NANOS,
                        Double.NaN, ""));
    }
}
