package io.agentd.bench;

import io.agentd.protocol.payload.ExecRequest;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * 5. PTY echo: `cat` in a PTY session; one byte in through core.exec.stdin, its echo (the line
 * discipline's, since no newline is sent) back as core.exec.stdout. Baseline: the same echo on a
 * local PTY with no agent (native-shim/bench/pty-echo-floor.c).
 */
final class PtyEchoBench {
    private static final byte[] KEY = {'x'};
    private static final int SIGKILL = 9;

    private PtyEchoBench() {}

    static List<Figure> run(BenchConfig cfg, AgentLink agent) throws Exception {
        NativeFloor.Result floor = NativeFloor.run(cfg.ptyEchoFloor(), cfg.ptyRuns(), cfg.ptyWarmup());
        Samples ours = agent(cfg, agent);
        double p50 = ours.percentile(50);
        return List.of(
                Figure.info("PTY echo p50 (n=" + ours.count() + ")", p50, Figure.Unit.NANOS,
                        floor.p50Micros() * 1e3, "local PTY"),
                Figure.info("PTY echo p99", ours.percentile(99), Figure.Unit.NANOS, floor.p99Micros() * 1e3,
                        "local PTY"));
    }

    static Samples agent(BenchConfig cfg, AgentLink agent) throws Exception {
        if (cfg.ptyRuns() + cfg.ptyWarmup() > 4000) {
            throw new IllegalArgumentException("the PTY line buffer holds 4095 bytes: too many round trips");
        }
        LinkedBlockingQueue<Byte> echoes = new LinkedBlockingQueue<>();
        ExecRequest request = new ExecRequest("cat", List.of(), List.of(), null, null, true,
                ExecRequest.DEFAULT_ROWS, ExecRequest.DEFAULT_COLS, List.of(), null);
        AgentLink.Session cat = agent.exec(request, (b, off, len) -> {
            for (int i = off; i < off + len; i++) {
                echoes.add(b[i]);
            }
        }, AgentLink.Sink.DISCARD);
        cat.awaitStarted();
        Samples samples = new Samples(cfg.ptyRuns());
        for (int i = 0; i < cfg.ptyWarmup() + cfg.ptyRuns(); i++) {
            long t0 = System.nanoTime();
            cat.stdin(KEY);
            Byte echo = echoes.poll(10, TimeUnit.SECONDS);
            long elapsed = System.nanoTime() - t0;
            if (echo == null || echo != KEY[0]) {
                throw new IOException("PTY echo " + i + ": expected 'x', got " + echo);
            }
            if (i >= cfg.ptyWarmup()) {
                samples.add(elapsed);
            }
        }
        cat.signal(SIGKILL);
        int code = cat.awaitExit();
        if (code != 128 + SIGKILL) {
            throw new IOException("cat killed with SIGKILL reported exit " + code + ", expected 137");
        }
        return samples;
    }
}
