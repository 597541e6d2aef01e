package io.agentd.agent.e2e;

import static io.agentd.agent.e2e.Requests.sh;
import static io.agentd.agent.e2e.Requests.withTimeout;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecSignal;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Signals, exit statuses, timeouts, the drain window and orphan reaping, checked against /proc.
 * The agent runs with a 250 ms drain window and a 500 ms grace.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProcessLifecycleE2ETest {
    private static final long DRAIN_MS = 250;
    private static final long GRACE_MS = 500;
    @RegisterExtension
    static final SharedAgent agent =
            new SharedAgent("lifecycle", "--drain-ms", Long.toString(DRAIN_MS), "--grace-ms", Long.toString(GRACE_MS));
    private HostConnection host;

    @BeforeEach
    void connect(HostConnection host) {
        this.host = host;
    }

    @Test
    void sigtermGives143AndSignal15() throws Exception {
        host.exec(1, ExecRequest.of("sleep", "60"));
        host.expect(1, MessageType.EXEC_STARTED);
        host.send(new Frame(1, MessageType.EXEC_SIGNAL, new ExecSignal(15)));
        SessionResult r = host.collect(1, HostConnection.TIMEOUT);
        assertEquals(143, r.code());
        assertEquals(15, r.exited().signal());
        assertNull(r.exited().timedOut());
    }

    @Test
    void sigkillGives137AndSignal9() throws Exception {
        host.exec(2, ExecRequest.of("sleep", "60"));
        host.expect(2, MessageType.EXEC_STARTED);
        host.send(new Frame(2, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
        SessionResult r = host.collect(2, HostConnection.TIMEOUT);
        assertEquals(137, r.code());
        assertEquals(9, r.exited().signal());
    }

    /**
     * The leader exits at once while a background sleep keeps stdout open: exited comes after the
     * drain window, not after the sleep; a signal on the id later still reaches the sleep.
     */
    @Test
    void backgroundChildDoesNotHoldExitedAndLaterSignalsStillReachIt() throws Exception {
        long t0 = System.nanoTime();
        SessionResult r = host.run(3, sh("sleep 30 & echo $!"));
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertEquals(0, r.code());
        assertTrue(elapsedMs < DRAIN_MS + 2000, "exited after " + elapsedMs + " ms");
        long sleepPid = Long.parseLong(r.out().trim());
        assertTrue(alive(sleepPid), "the background sleep lives on");

        host.send(new Frame(3, MessageType.EXEC_SIGNAL, new ExecSignal(15)));
        awaitGone(sleepPid, 3000);
        // Once the group is gone the id is unknown again.
        Thread.sleep(700);
        host.send(new Frame(3, MessageType.EXEC_SIGNAL, new ExecSignal(15)));
        host.expectError(3, "invalid_session");
    }

    /** Orphans re-parent to the agent (a child subreaper) and are reaped: no zombie lasts a second. */
    @Test
    void orphansAreReapedWithinASecond() throws Exception {
        SessionResult r = host.run(4, sh("for i in 1 2 3 4 5; do (sleep 0.3 >/dev/null 2>&1 & echo $!); done"));
        assertEquals(0, r.code());
        List<Long> orphans = new ArrayList<>();
        for (String line : r.out().trim().split("\n")) {
            orphans.add(Long.parseLong(line.trim()));
        }
        assertEquals(5, orphans.size());
        for (long pid : orphans) {
            if (alive(pid)) {
                assertEquals(agent.process().pid(), parentOf(pid), "orphan " + pid + " re-parented to the agent");
            }
        }
        for (long pid : orphans) {
            awaitGone(pid, 300 + 1000 + 500);
        }
    }

    @Test
    void timeoutSendsSigtermAndReportsTimedOut() throws Exception {
        long t0 = System.nanoTime();
        SessionResult r = host.run(5, withTimeout(ExecRequest.of("sleep", "60"), 300));
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertEquals(143, r.code());
        assertEquals(15, r.exited().signal());
        assertEquals(Boolean.TRUE, r.exited().timedOut());
        assertTrue(elapsedMs >= 300 && elapsedMs < 5000, elapsedMs + " ms");
    }

    @Test
    void timeoutSendsSigkillAfterTheGraceToAChildThatIgnoresSigterm() throws Exception {
        long t0 = System.nanoTime();
        SessionResult r = host.run(6, withTimeout(sh("trap '' TERM; echo armed; sleep 60 & wait; sleep 60"), 300));
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertEquals(137, r.code());
        assertEquals(9, r.exited().signal());
        assertEquals(Boolean.TRUE, r.exited().timedOut());
        assertTrue(elapsedMs >= 300 + GRACE_MS, elapsedMs + " ms");
    }

    @Test
    void aRealTimeSignalReachesTheSessionsGroup() throws Exception {
        host.exec(8, sh("trap 'exit 7' 34; echo armed; while :; do sleep 0.05; done"));
        host.expect(8, MessageType.EXEC_STARTED);
        host.expect(8, MessageType.EXEC_STDOUT); // "armed": the trap is set
        host.send(new Frame(8, MessageType.EXEC_SIGNAL, new ExecSignal(34))); // SIGRTMIN
        SessionResult r = host.collect(8, Duration.ofSeconds(10));
        assertEquals(7, r.code(), r.toString());
    }

    @Test
    void sessionThatEndsBeforeItsTimeoutIsNotTimedOut() throws Exception {
        SessionResult r = host.run(7, withTimeout(ExecRequest.of("true"), 10_000));
        assertEquals(0, r.code());
        assertNull(r.exited().timedOut());
    }

    private static boolean alive(long pid) throws IOException {
        Path stat = Path.of("/proc/" + pid + "/stat");
        if (!Files.exists(stat)) {
            return false;
        }
        try {
            return state(stat) != 'Z';
        } catch (IOException gone) {
            return false;
        }
    }

    private static char state(Path stat) throws IOException {
        String s = Files.readString(stat, StandardCharsets.US_ASCII);
        return s.charAt(s.lastIndexOf(')') + 2);
    }

    private static long parentOf(long pid) throws IOException {
        String s = Files.readString(Path.of("/proc/" + pid + "/stat"), StandardCharsets.US_ASCII);
        return Long.parseLong(s.substring(s.lastIndexOf(')') + 2).split(" ")[1]);
    }

    /** Waits until the pid is gone from /proc entirely (exited and reaped). */
    private static void awaitGone(long pid, long timeoutMs) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        Path proc = Path.of("/proc/" + pid);
        while (Files.exists(proc)) {
            if (System.currentTimeMillis() > deadline) {
                String state;
                try {
                    state = String.valueOf(state(proc.resolve("stat")));
                } catch (IOException e) {
                    state = "?";
                }
                throw new AssertionError("pid " + pid + " still in /proc (state " + state + ") after " + timeoutMs + " ms");
            }
            Thread.sleep(20);
        }
    }
}
