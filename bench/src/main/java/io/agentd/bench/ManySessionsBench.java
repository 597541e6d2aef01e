package io.agentd.bench;

import io.agentd.protocol.payload.ExecRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * 3b. Many sessions at once (issue 17: 10,000): every session is one shell that reads a line, prints
 * it and exits with a code of its own ({@code sh -c 'read line; echo "$line"; exit K'}, K = i mod
 * 200). The lines are sent only once every request has been answered, so every session that started
 * is alive at the same time; then each must print its own line and exit with its own code. A side
 * thread pings every 10 ms throughout; the agent's peak RSS is read at the end.
 *
 * <p>At 4 fds a session (stdin, stdout and stderr pipes, a pidfd) the agent needs more open files
 * than the usual limits give: the probe raises the agent's RLIMIT_NOFILE before the run where it can
 * (on the host with prlimit(1), which needs CAP_SYS_RESOURCE for a hard limit; in the guest, init
 * has set 65536). When it cannot, the run goes on at the limit the agent has, and the sessions past
 * it must be refused with a typed {@code resource_limit}. {@link GuestManySessions} runs this against
 * a guest's agent (scripts/guest/many-sessions).
 *
 * <p>Two pingers: one on the connection that sends the requests, and another (on the host a
 * connection of its own, in a guest {@link GuestPinger} through the guest's unix socket). The agent handles a link's
 * frames in order, so the first one's pings wait behind the requests sent before them (thousands of
 * spawns); the other one's show whether the agent stays responsive to every other host while one
 * floods it, which is the checked figure.
 */
final class ManySessionsBench {
    private static final int EXIT_CODES = 200;
    /** Fds a session holds in the agent, and room for the agent's own. */
    private static final int FDS_PER_SESSION = 4;
    private static final int AGENT_FDS = 1024;
    private static final long RUN_TIMEOUT_SECONDS = 600;
    private static final String RESOURCE_LIMIT = "resource_limit";

    private ManySessionsBench() {}

    static ExecRequest request(int session) {
        return ExecRequest.of("sh", "-c", "read line; echo \"$line\"; exit " + exitCode(session));
    }

    static int exitCode(int session) {
        return session % EXIT_CODES;
    }

    static String line(int session) {
        return "session " + session + "\n";
    }

    /**
     * Runs {@code sessions} sessions through {@code agent}, pinging on it and through {@code otherPinger}
     * (the checked figure; {@code otherWhere} says where it pings from, for the figure's name);
     * {@code probe} reads the agent's limit, children and memory.
     */
    static List<Figure> run(int sessions, AgentProbe probe, AgentLink agent, PingSeries otherPinger,
                            String otherWhere) throws Exception {
        String raised = probe.raiseOpenFileLimit((long) sessions * FDS_PER_SESSION + AGENT_FDS);
        long fileLimit = probe.openFileLimit();
        Samples idlePings = new Samples(ConcurrencyBench.IDLE_PINGS);
        for (int i = 0; i < ConcurrencyBench.IDLE_PINGS; i++) {
            idlePings.add(agent.pingNanos());
        }

        AtomicReferenceArray<StringBuilder> output = new AtomicReferenceArray<>(sessions);
        Pinger pinger = new Pinger(agent, Duration.ofSeconds(RUN_TIMEOUT_SECONDS));
        pinger.start();
        otherPinger.start();
        long t0 = System.nanoTime();
        List<AgentLink.Session> requested = new ArrayList<>(sessions);
        for (int i = 0; i < sessions; i++) {
            StringBuilder out = new StringBuilder();
            output.set(i, out);
            requested.add(agent.exec(request(i), (b, off, len) -> {
                synchronized (out) {
                    out.append(new String(b, off, len, StandardCharsets.UTF_8));
                }
            }, AgentLink.Sink.DISCARD));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(RUN_TIMEOUT_SECONDS);
        boolean[] started = new boolean[sessions];
        int startedCount = 0;
        Map<String, Integer> refusals = new TreeMap<>();
        Exception firstUntyped = null;
        for (int i = 0; i < sessions; i++) {
            try {
                requested.get(i).awaitStarted();
                started[i] = true;
                startedCount++;
            } catch (Exception e) {
                String kind = AgentLink.execFailureKind(e);
                refusals.merge(kind == null ? "other" : kind, 1, Integer::sum);
                if (kind == null && firstUntyped == null) {
                    firstUntyped = e;
                }
            }
        }
        long allAnswered = System.nanoTime();
        int live = probe.liveChildren();
        for (int i = 0; i < sessions; i++) {
            if (started[i]) {
                requested.get(i).stdin(line(i).getBytes(StandardCharsets.UTF_8));
            }
        }
        int right = 0;
        Exception firstWrong = null;
        for (int i = 0; i < sessions; i++) {
            if (!started[i]) {
                continue;
            }
            try {
                int code = requested.get(i).awaitExit(Math.max(1, deadline - System.nanoTime()));
                String out;
                StringBuilder sb = output.get(i);
                synchronized (sb) {
                    out = sb.toString();
                }
                if (code == exitCode(i) && out.equals(line(i))) {
                    right++;
                } else if (firstWrong == null) {
                    firstWrong = new IOException("session " + i + " exited " + code + " (expected " + exitCode(i)
                            + ") with output \"" + out.strip() + "\"");
                }
            } catch (Exception e) {
                if (firstWrong == null) {
                    firstWrong = e;
                }
            }
        }
        long wall = System.nanoTime() - t0;
        Samples busyPings = pinger.stopAndCollect();
        Samples otherPings = otherPinger.stopAndCollect();
        Samples otherIdle = otherPinger.idle() != null ? otherPinger.idle() : idlePings;
        long peakRss = probe.peakRssBytes();
        if (firstUntyped != null) {
            System.err.println("[bench] many sessions: a start failed without a typed refusal: " + firstUntyped);
        }
        if (firstWrong != null) {
            System.err.println("[bench] many sessions: first session that did not end right: " + firstWrong);
        }
        int refused = sessions - startedCount;
        int typed = refusals.getOrDefault(RESOURCE_LIMIT, 0);
        String tag = sessions + " sessions";
        double busyP99 = busyPings.percentile(99);
        double otherP99 = otherPings.percentile(99);
        System.err.printf("[bench] many sessions: pings " + otherWhere + ": p50 %.1f, p90 %.1f, p99 %.1f, max %.1f ms;"
                        + " slowest at %s%n", otherPings.percentile(50) / 1e6, otherPings.percentile(90) / 1e6,
                otherP99 / 1e6, otherPings.percentile(100) / 1e6, otherPings.slowest(5));
        return List.of(
                Figure.correctness(tag + ": exit code and output right", right, Figure.Unit.COUNT, sessions, "requested",
                        "all", right == sessions),
                refused == 0
                        ? Figure.info(tag + ": refused starts (none)", 0, Figure.Unit.COUNT, Double.NaN, "")
                        : Figure.correctness(tag + ": refused starts that are typed resource_limit " + refusals, typed,
                                Figure.Unit.COUNT, refused, "refused", "all", typed == refused),
                Figure.info(tag + ": alive at once (the agent's children when all had answered)", live,
                        Figure.Unit.COUNT, sessions, "requested"),
                Figure.checked(tag + ": ping p99 during run, " + otherWhere + " (n=" + otherPings.count() + ")",
                        otherP99, Figure.Unit.NANOS, otherIdle.percentile(99), "idle ping p99", "< 50 ms",
                        otherP99 < 50e6),
                Figure.info(tag + ": ping p99 during run, behind the requests on their connection (n="
                        + busyPings.count() + ")", busyP99, Figure.Unit.NANOS, idlePings.percentile(99), "idle ping p99"),
                Figure.checked(tag + ": agent peak RSS (VmHWM)", peakRss, Figure.Unit.BYTES, Double.NaN, "",
                        "< 256 MiB", peakRss < 256L << 20),
                Figure.info(tag + ": agent open-file limit (" + raised + ")", fileLimit, Figure.Unit.COUNT,
                        (double) sessions * FDS_PER_SESSION, "fds the sessions need"),
                Figure.info(tag + ": time to answer every request", allAnswered - t0, Figure.Unit.NANOS, Double.NaN, ""),
                Figure.info(tag + ": wall time, first request to last exit", wall, Figure.Unit.NANOS, Double.NaN, ""));
    }
}
