package io.agentd.bench;

import io.agentd.protocol.payload.ExecRequest;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * 5. PTY echo: `cat` in a PTY session; one byte in through core.exec.stdin, its echo (the line
 * discipline's, since no newline is sent) back as core.exec.stdout. Baseline: the same echo on a
 * local PTY with no agent (native-shim/bench/pty-echo-floor.c). Beside it, the same echo through a
 * relay process written in C with nothing else to do (native-shim/bench/pty-relay-floor.c): the
 * wake-ups any agent adds to the local PTY's work, which the target's five times the local PTY
 * does not leave room for when the local PTY's echo comes without one.
 *
 * <p>The agent is measured twice, each time in a new session: first as it comes, the first echoes
 * of a fresh agent (its echo path still interpreted by the JVM until the JIT has compiled it), then
 * warm, after {@link BenchConfig#ptyAgentWarmup} echoes in a session between the two, as an agent
 * that has served for a while answers a terminal. The target is checked on the warm figure; the
 * first is printed beside it.
 *
 * <p>A round trip ends when the echo reaches the client's reader thread, where a terminal client
 * (agentctl exec -t) writes it out; the floor's read returns on its writing thread likewise. The
 * bench's own hand-off of the byte to the thread that waits for it (one more wake-up, which no
 * client of the library needs) is timed in the same rounds and printed beside it.
 */
final class PtyEchoBench {
    private static final byte[] KEY = {'x'};
    private static final int SIGKILL = 9;
    /** Issue 17: an echo through the agent within five times a local PTY's. */
    private static final double TARGET_RATIO = 5;
    /** One session's echoes are never a newline, so they all stay in its line buffer of 4095 bytes. */
    private static final int MAX_ECHOES_PER_SESSION = 4000;

    /** The two ends of one round trip, in System.nanoTime(). */
    record RoundTrips(Samples toReader, Samples toCaller) {}

    /** One echoed byte and when the client's reader thread had it. */
    private record Echo(byte value, long atNanos) {}

    private PtyEchoBench() {}

    static List<Figure> run(BenchConfig cfg, AgentLink agent) throws Exception {
        NativeFloor.Result floor = NativeFloor.run(cfg.ptyEchoFloor(), cfg.ptyRuns(), cfg.ptyWarmup());
        NativeFloor.Result relay = NativeFloor.run(cfg.ptyRelayFloor(), cfg.ptyRuns(), cfg.ptyWarmup());
        RoundTrips first = echoes(agent, cfg.ptyWarmup(), cfg.ptyRuns());
        for (int left = cfg.ptyAgentWarmup(); left > 0; left -= MAX_ECHOES_PER_SESSION) {
            echoes(agent, Math.min(left, MAX_ECHOES_PER_SESSION) - 1, 1);
        }
        RoundTrips warm = echoes(agent, cfg.ptyWarmup(), cfg.ptyRuns());
        double p50 = warm.toReader().percentile(50);
        double floorP50 = floor.p50Micros() * 1e3;
        double relayP50 = relay.p50Micros() * 1e3;
        return List.of(
                Figure.checked("PTY echo p50, warm (n=" + warm.toReader().count() + ")", p50, Figure.Unit.NANOS,
                        floorP50, "local PTY", "<= 5x local PTY", p50 <= TARGET_RATIO * floorP50),
                Figure.info("PTY echo p99, warm", warm.toReader().percentile(99), Figure.Unit.NANOS,
                        floor.p99Micros() * 1e3, "local PTY"),
                Figure.info("PTY echo p50, warm, vs a C relay process between socket and PTY", p50,
                        Figure.Unit.NANOS, relayP50, "C relay"),
                Figure.info("C relay's PTY echo p50 vs the local PTY (what any agent adds)", relayP50,
                        Figure.Unit.NANOS, floorP50, "local PTY"),
                Figure.info(freshAgentFigureName(cfg.ptyWarmup(), first.toReader().count()),
                        first.toReader().percentile(50), Figure.Unit.NANOS, p50, "warm"),
                Figure.info("PTY echo p50, warm, handed on to the bench's waiting thread",
                        warm.toCaller().percentile(50), Figure.Unit.NANOS, p50, "at the client's reader"));
    }

    /**
     * The fresh agent's row: its session's first {@code warmup} echoes are untimed like every other
     * session's, so the figure is of the echoes after them, and says so.
     */
    static String freshAgentFigureName(int warmup, int timed) {
        return "PTY echo p50, a fresh agent's echoes " + (warmup + 1) + "-" + (warmup + timed)
                + " (the first " + warmup + " untimed)";
    }

    /** {@code warmup} then {@code runs} timed echoes, in a `cat` session of their own. */
    static RoundTrips echoes(AgentLink agent, int warmup, int runs) throws Exception {
        if (runs + warmup > MAX_ECHOES_PER_SESSION) {
            throw new IllegalArgumentException("the PTY line buffer holds 4095 bytes: too many round trips");
        }
        LinkedBlockingQueue<Echo> echoes = new LinkedBlockingQueue<>();
        ExecRequest request = new ExecRequest("cat", List.of(), List.of(), null, null, true,
                ExecRequest.DEFAULT_ROWS, ExecRequest.DEFAULT_COLS, List.of(), null);
        AgentLink.Session cat = agent.exec(request, (b, off, len) -> {
            long at = System.nanoTime();
            for (int i = off; i < off + len; i++) {
                echoes.add(new Echo(b[i], at));
            }
        }, AgentLink.Sink.DISCARD);
        cat.awaitStarted();
        Samples toReader = new Samples(runs);
        Samples toCaller = new Samples(runs);
        for (int i = 0; i < warmup + runs; i++) {
            long t0 = System.nanoTime();
            cat.stdin(KEY);
            Echo echo = echoes.poll(10, TimeUnit.SECONDS);
            long woken = System.nanoTime();
            if (echo == null || echo.value() != KEY[0]) {
                throw new IOException("PTY echo " + i + ": expected 'x', got " + (echo == null ? null : echo.value()));
            }
            if (i >= warmup) {
                toReader.add(echo.atNanos() - t0);
                toCaller.add(woken - t0);
            }
        }
        cat.signal(SIGKILL);
        int code = cat.awaitExit();
        if (code != 128 + SIGKILL) {
            throw new IOException("cat killed with SIGKILL reported exit " + code + ", expected 137");
        }
        return new RoundTrips(toReader, toCaller);
    }
}
