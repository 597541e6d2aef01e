package io.agentd.client.cli;

import static io.agentd.client.cli.AgentctlScriptedAgentTest.agentctl;
import static io.agentd.client.cli.AgentctlScriptedAgentTest.assertEnds125;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.ScriptedPeer;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.Ready;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code exec --timeout} against a scripted agent that owes the exit: agentctl waits the timeout,
 * the grace and drain window its core.ready says, and 15 s more from the started, then ends with
 * 125. Before, a guest that never sent the exit (it answers pongs) held agentctl for ever.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AgentctlTimeoutOverrunTest {

    @Test
    void aTimedOutCommandWhoseExitNeverComesEndsAgentctlWith125(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir)) {
            Process p = agentctl(peer, new File("/dev/null"), dir, "exec", "--timeout", "1s", "--", "sleep", "600");
            try {
                started(peer, 100, 10);
                long started = System.nanoTime();
                assertEquals(MessageType.EXEC_STDIN, peer.receive().type(), "its end of input, with it");
                assertEnds125(p, 45, "(owed by then: its grace 100 ms and drain window 10 ms, and 15s more): giving up");
                long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                assertTrue(waited >= 16_000, "gave up " + waited + " ms after the started, before 1 s + 110 ms + 15 s");
            } finally {
                p.destroyForcibly();
            }
        }
    }

    /**
     * The grace the agent says is waited for: an exit 20 s after the start of a 1 s timeout, from an
     * agent whose grace is 10 s, is taken (124), where the default grace (2 s) would have given up
     * at 18.25 s.
     */
    @Test
    void theAgentsOwnGraceIsWaitedFor(@TempDir Path dir) throws Exception {
        assertAnExitAfter20sIsTaken(dir, new Ready(1, 2, 3, "scripted", List.of(), 10_000L, 250L));
    }

    /**
     * An agent from before grace_ms and drain_ms (its core.ready does not say them) may run with any
     * --grace-ms: its grace is not taken to be the default. Its exit 20 s after the start of a 1 s
     * timeout (a grace of 10 s) is taken (124); with the defaults assumed agentctl gave up at 18.25 s
     * with 125, while the agent was still within its grace.
     */
    @Test
    void anAgentThatDoesNotSayItsGraceIsNotTakenToHaveTheDefault(@TempDir Path dir) throws Exception {
        assertAnExitAfter20sIsTaken(dir, new Ready(1, 2, 3, "before grace_ms", List.of()));
    }

    /**
     * agentctl exec --timeout 1s against a peer that greets it with {@code ready} and sends the
     * exit (killed at the grace's end, timed out) 20 s after the started: agentctl is still waiting
     * then, and takes it (124).
     */
    private static void assertAnExitAfter20sIsTaken(Path dir, Ready ready) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir)) {
            Process p = agentctl(peer, new File("/dev/null"), dir, "exec", "--timeout", "1s", "--", "sleep", "600");
            try {
                Frame request = started(peer, ready);
                peer.receive(); // its end of input
                assertFalse(p.waitFor(20, TimeUnit.SECONDS), () -> "agentctl gave up within the agent's grace: " + err(p));
                peer.send(new Frame(request.id(), MessageType.EXEC_EXITED, new ExecExited(0, 9, true)));
                assertTrue(p.waitFor(30, TimeUnit.SECONDS), "agentctl still waits");
                String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals(124, p.exitValue(), err);
                assertTrue(err.contains("ran past --timeout 1s; the agent stopped it"), err);
            } finally {
                p.destroyForcibly();
            }
        }
    }

    /**
     * An exit the agent sent while agentctl itself did not run (stopped by ^Z or SIGSTOP past the
     * owed time) is in the connection, unread, when agentctl goes on: it is taken (124), not given up
     * on. Before, the watch woke past its wait and ended agentctl with 125 before the reader, woken
     * with it, took the exit (probe: exec --timeout 2s of a command that ignores SIGTERM, SIGSTOP
     * for 22 s, SIGCONT: 125, three times out of three).
     */
    @Test
    void anExitThatCameWhileAgentctlWasStoppedIsTaken(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir)) {
            Process p = agentctl(peer, new File("/dev/null"), dir, "exec", "--timeout", "1s", "--", "sleep", "600");
            try {
                Frame request = started(peer, 100, 10);
                peer.receive(); // its end of input
                signal(p, "STOP");
                Thread.sleep(18_000); // past the owed 1 s + 110 ms + 15 s
                peer.send(new Frame(request.id(), MessageType.EXEC_EXITED, new ExecExited(0, 9, true)));
                Thread pongs = new Thread(() -> answerPings(peer), "scripted-pongs");
                pongs.setDaemon(true);
                pongs.start();
                signal(p, "CONT");
                assertTrue(p.waitFor(30, TimeUnit.SECONDS), "agentctl still waits");
                assertEquals(124, p.exitValue(), err(p));
            } finally {
                signal(p, "CONT");
                p.destroyForcibly();
            }
        }
    }

    private static void signal(Process p, String name) throws Exception {
        new ProcessBuilder("kill", "-" + name, Long.toString(p.pid())).start().waitFor();
    }

    /** Answers each ping the client sends until it hangs up. */
    private static void answerPings(ScriptedPeer peer) {
        try {
            while (true) {
                Frame f = peer.receive();
                if (f.type() == MessageType.CORE_PING) {
                    peer.send(new Frame(f.id(), MessageType.CORE_PONG, io.agentd.protocol.payload.Empty.INSTANCE));
                }
            }
        } catch (Exception hungUp) {
            // agentctl ended
        }
    }

    /**
     * An exit held back by our own stdout (a pipe nobody reads: the connection's reader waits in its
     * write) is not the agent's overrun: agentctl waits on past the owed time, and once its output
     * is read it takes the exit.
     */
    @Test
    void anExitHeldBehindOurOwnStdoutIsWaitedFor(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir)) {
            Process p = new ProcessBuilder(List.of(AgentctlScriptedAgentTest.AGENTCTL.toString(), "--socket",
                    peer.socket().toString(), "exec", "--timeout", "1s", "--", "journalctl"))
                    .redirectInput(new File("/dev/null")).start(); // stdout: a pipe nobody reads yet
            try {
                Frame request = started(peer, 100, 10);
                peer.receive(); // its end of input
                byte[] output = new byte[512 << 10]; // far more than a pipe holds
                Arrays.fill(output, (byte) 'x');
                peer.send(new Frame(request.id(), MessageType.EXEC_STDOUT, new ExecData(output)));
                peer.send(new Frame(request.id(), MessageType.EXEC_EXITED, new ExecExited(0, 15, true)));
                assertFalse(p.waitFor(20, TimeUnit.SECONDS), () -> "agentctl gave up while its own stdout held the exit: "
                        + err(p));
                assertEquals(output.length, p.getInputStream().readNBytes(output.length).length, "all the output, once read");
                assertTrue(p.waitFor(30, TimeUnit.SECONDS), "agentctl still waits");
                assertEquals(124, p.exitValue(), new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            } finally {
                p.destroyForcibly();
            }
        }
    }

    /** agentctl's stderr, once it has ended (read only for a failure's message). */
    private static String err(Process p) {
        try {
            return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return "(stderr unreadable: " + e + ")";
        }
    }

    /** The peer greets agentctl saying its grace and drain, takes the exec request and answers it started. */
    private static Frame started(ScriptedPeer peer, long graceMs, long drainMs) throws Exception {
        return started(peer, new Ready(1, 2, 3, "scripted", List.of(), graceMs, drainMs));
    }

    /** The peer greets agentctl with {@code ready}, takes the exec request and answers it started. */
    private static Frame started(ScriptedPeer peer, Ready ready) throws Exception {
        peer.accept(ready);
        Frame request = peer.receive();
        assertEquals(MessageType.EXEC_REQUEST, request.type());
        assertEquals(1000L, ((io.agentd.protocol.payload.ExecRequest) request.payload()).timeoutMs());
        peer.send(new Frame(request.id(), MessageType.EXEC_STARTED, new ExecStarted(4321)));
        return request;
    }
}
