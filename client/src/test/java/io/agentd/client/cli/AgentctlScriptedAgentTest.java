package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.agentd.client.ScriptedPeer;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecSignal;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.Ready;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** agentctl (scripts/agentctl, a process) against a scripted agent that misbehaves. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AgentctlScriptedAgentTest {
    private static final Path ROOT =
            Path.of(System.getProperty("agentd.project.root", "..")).toAbsolutePath().normalize();
    static final Path AGENTCTL = ROOT.resolve("scripts/agentctl");

    /**
     * SIGINT passed on to a command whose agent then answers nothing (a paused VM, a hung agent):
     * 10 s later agentctl asks for a pong, gets none within 15 s, and ends with 125 and a line
     * saying why. Before, it waited for ever, and only SIGKILL ended it.
     */
    @Test
    void aSignalPassedOnToAnAgentThatAnswersNothingEndsAgentctlWith125(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir)) {
            Process p = agentctl(peer, new File("/dev/null"), dir, "exec", "--", "sleep", "600");
            try {
                Frame request = started(peer);
                assertEquals(MessageType.EXEC_STDIN, peer.receive().type(), "its end of input, with it");
                Thread.sleep(500); // agentctl has the started: its signal handlers were set before the request
                interrupt(p);
                assertEquals(new Frame(request.id(), MessageType.EXEC_SIGNAL, new ExecSignal(2)), peer.receive());
                assertEquals(MessageType.CORE_PING, peer.receive().type(), "10 s on, it asks whether the agent answers");
                assertEnds125(p, 30, "agentctl: the agent does not answer");
            } finally {
                p.destroyForcibly();
            }
        }
    }

    /**
     * The same while agentctl's stdin copy holds the connection (an agent that grants no credit
     * and reads nothing): the signal cannot even be sent, and the watch, started before the send,
     * still ends agentctl with 125. Before, the handler waited for the send for ever.
     */
    @Test
    void aSignalThatCannotBeSentStillEndsAgentctlWith125(@TempDir Path dir) throws Exception {
        Path input = dir.resolve("input");
        Files.write(input, new byte[32 << 20]); // far more than the socket buffers hold
        try (ScriptedPeer peer = new ScriptedPeer(Files.createDirectories(dir.resolve("peer")))) {
            Process p = agentctl(peer, input.toFile(), dir, "exec", "-i", "--", "cat");
            try {
                started(peer); // no stdin_window: agentctl's stdin goes out without waiting for credit
                Thread.sleep(2000); // its stdin fills the socket; the peer reads no more
                interrupt(p);
                assertEnds125(p, 60, "agentctl: the agent does not answer");
            } finally {
                p.destroyForcibly();
            }
        }
    }

    /**
     * SIGINT passed on while agentctl's own stdout takes nothing (`| less` left on its first page):
     * the connection's reader waits in that write, so the agent's pong waits unread behind it. That
     * is no silence of the agent's: agentctl waits on, and once its reader takes the output it gets
     * the rest and the command's status. Before, it gave up on the agent 25 s on and exited 125.
     */
    @Test
    void aSignalPassedOnWhileOurStdoutTakesNothingDoesNotGiveUpOnTheAgent(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir)) {
            List<String> command = new ArrayList<>(List.of(AGENTCTL.toString(), "--socket", peer.socket().toString(),
                    "exec", "--", "journalctl"));
            Process p = new ProcessBuilder(command).redirectInput(new File("/dev/null")).start(); // stdout: a pipe nobody reads yet
            try {
                Frame request = started(peer);
                assertEquals(MessageType.EXEC_STDIN, peer.receive().type(), "its end of input, with it");
                byte[] output = new byte[512 << 10]; // far more than a pipe holds
                java.util.Arrays.fill(output, (byte) 'x');
                peer.send(new Frame(request.id(), MessageType.EXEC_STDOUT, new ExecData(output)));
                Thread.sleep(500);
                interrupt(p);
                assertEquals(new Frame(request.id(), MessageType.EXEC_SIGNAL, new ExecSignal(2)), peer.receive());
                Frame ping = peer.receive();
                assertEquals(MessageType.CORE_PING, ping.type(), "10 s on, it asks whether the agent answers");
                peer.send(new Frame(ping.id(), MessageType.CORE_PONG, Empty.INSTANCE)); // unread while stdout is full
                peer.send(new Frame(request.id(), MessageType.EXEC_EXITED, new ExecExited(130, 2, null)));
                if (p.waitFor(20, TimeUnit.SECONDS)) {
                    fail("agentctl gave up on an agent that answered (exit " + p.exitValue() + "): "
                            + new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
                }
                assertEquals(output.length, p.getInputStream().readNBytes(output.length).length, "all the output, once read");
                assertTrue(p.waitFor(30, TimeUnit.SECONDS), "agentctl still waits");
                assertEquals(130, p.exitValue(), new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            } finally {
                p.destroyForcibly();
            }
        }
    }

    /**
     * An exit status no process has (an i32 on the wire: 256, -1) is not passed to the shell, which
     * would take it modulo 256 (256 as success): 125, with a line. Before, agentctl exited 0.
     */
    @Test
    void anExitStatusNoProcessHasEndsAgentctlWith125(@TempDir Path dir) throws Exception {
        for (int status : new int[] {256, -1}) {
            try (ScriptedPeer peer = new ScriptedPeer(Files.createDirectories(dir.resolve("s" + (status & 0xffff))))) {
                Process p = agentctl(peer, new File("/dev/null"), dir, "exec", "--", "true");
                try {
                    Frame request = started(peer);
                    peer.receive(); // its end of input
                    peer.send(new Frame(request.id(), MessageType.EXEC_EXITED, new ExecExited(status, null, null)));
                    assertEnds125(p, 30, "agentctl: the agent reported exit status " + status);
                } finally {
                    p.destroyForcibly();
                }
            }
        }
    }

    /**
     * The agent is the untrusted side: a failure's message it sends is printed with its control
     * characters escaped, so it can neither steer the host's terminal nor forge a second line.
     */
    @Test
    void anAgentsFailureMessageCannotSteerTheTerminal(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir)) {
            Process p = agentctl(peer, new File("/dev/null"), dir, "exec", "--", "true");
            try {
                peer.accept();
                Frame request = peer.receive();
                peer.send(new Frame(request.id(), MessageType.EXEC_FAILED, io.agentd.protocol.payload.ExecFailed.of(
                        io.agentd.protocol.payload.FailureKind.NOT_FOUND, 2, "ENOENT",
                        "no such \u001b]0;owned\u0007 \"x\"\nagentctl: forged line", "execve")));
                assertTrue(p.waitFor(30, TimeUnit.SECONDS), "agentctl still waits");
                String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(err.indexOf('\u001b') < 0 && err.indexOf('\u0007') < 0, "a raw control character: " + err);
                assertTrue(err.lines().noneMatch(l -> l.startsWith("agentctl: forged")), err);
                assertTrue(err.contains("\"x\""), "the agent's own quotes as they were: " + err);
            } finally {
                p.destroyForcibly();
            }
        }
    }

    /**
     * A stdin error's errno name and message come from the agent too: the one line "stdin not
     * delivered in full" prints them escaped. Before, they went out raw (a review): two lines, and the
     * agent's escape sequences on the terminal.
     */
    @Test
    void anAgentsStdinErrorCannotSteerTheTerminal(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir)) {
            Process p = agentctl(peer, new File("/dev/null"), dir, "exec", "--", "true");
            try {
                Frame request = started(peer);
                peer.receive(); // its end of input
                peer.send(new Frame(request.id(), MessageType.EXEC_STDIN_ERROR, new io.agentd.protocol.payload.ExecStdinError(
                        32, "EPIPE\u001b[2J", "broken\nagentctl: forged\u001b]0;x\u0007")));
                peer.send(new Frame(request.id(), MessageType.EXEC_EXITED, new ExecExited(0, null, null)));
                assertTrue(p.waitFor(30, TimeUnit.SECONDS), "agentctl still waits");
                String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals(123, p.exitValue(), err);
                assertTrue(err.indexOf('\u001b') < 0 && err.indexOf('\u0007') < 0, "a raw control character: " + err);
                assertEquals(1, err.lines().count(), err);
                assertTrue(err.startsWith("agentctl: stdin not delivered in full: EPIPE"), err);
            } finally {
                p.destroyForcibly();
            }
        }
    }

    /** The same for the agent's refusal of a detach (a signal under --sig-proxy=false, or the detach keys). */
    @Test
    void anAgentsDetachRefusalCannotSteerTheTerminal(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir)) {
            Process p = agentctl(peer, new File("/dev/null"), dir, "exec", "--sig-proxy=false", "--", "sleep", "600");
            try {
                peer.accept(io.agentd.protocol.payload.Ready.FEATURE_SESSIONS,
                        io.agentd.protocol.payload.Ready.FEATURE_SESSION_DETACH);
                Frame request = peer.receive();
                peer.send(new Frame(request.id(), MessageType.EXEC_STARTED, new ExecStarted(4321)));
                peer.receive(); // its end of input
                Thread.sleep(500); // agentctl has the started: its signal handlers were set before the request
                assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor());
                Frame detach = peer.receive();
                assertEquals(MessageType.SESSION_DETACH, detach.type());
                peer.send(new Frame(detach.id(), MessageType.CORE_ERROR, new io.agentd.protocol.payload.ErrorPayload(
                        "invalid_session", "nope\n\u001b[2J\u001b]0;owned\u0007agentctl: detached fine",
                        MessageType.SESSION_DETACH.wire())));
                // Its refusal line first (the session still runs), then the session's end.
                java.io.BufferedReader lines = new java.io.BufferedReader(
                        new java.io.InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
                StringBuilder err = new StringBuilder();
                for (String line; !err.toString().contains("cannot detach") && (line = lines.readLine()) != null; ) {
                    err.append(line).append('\n');
                }
                peer.send(new Frame(request.id(), MessageType.EXEC_EXITED, new ExecExited(0, 15, null)));
                assertTrue(p.waitFor(30, TimeUnit.SECONDS), "agentctl still waits");
                for (String line; (line = lines.readLine()) != null; ) {
                    err.append(line).append('\n');
                }
                String all = err.toString();
                assertTrue(all.contains("cannot detach"), all);
                assertTrue(all.indexOf('\u001b') < 0 && all.indexOf('\u0007') < 0, "a raw control character: " + all);
                assertTrue(all.lines().noneMatch(l -> l.startsWith("agentctl: detached fine")), all);
            } finally {
                p.destroyForcibly();
            }
        }
    }

    /**
     * wait-ready's line quotes what the guest chose: a version holding a terminal's escapes (a
     * title, a clear, a colour, a line break) is printed escaped, and start-up times are the u64
     * they are on the wire. Before, the escapes reached the terminal as they came and 2^64 - 1 ns
     * printed as a negative time.
     */
    @Test
    void waitReadyEscapesTheGuestsVersionAndReadsItsTimesUnsigned(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(Files.createDirectories(dir.resolve("peer")))) {
            Process p = agentctl(peer, new File("/dev/null"), dir, "wait-ready", "--timeout", "20s");
            try {
                peer.accept(new Ready(-1L, 2_000_000_000L, 3_000_000_000L,
                        "v\u001b]0;PWNED\u0007\u001b[2J\u001b[31mRED\u001b[0m\r\nagentctl: forged", List.of()));
                assertTrue(p.waitFor(30, TimeUnit.SECONDS), "wait-ready ends");
                assertEquals(0, p.exitValue());
                String out = Files.readString(dir.resolve("out"), StandardCharsets.UTF_8);
                assertTrue(out.chars().noneMatch(c -> c == 0x1b || c == 0x07 || c == '\r'), out);
                assertEquals(1, out.lines().count(), "one line: " + out);
                assertTrue(out.contains("\\u001b]0;PWNED"), out);
                assertTrue(out.contains("agent started 18446744073.710 s"), out);
            } finally {
                p.destroyForcibly();
            }
        }
    }

    /** scripts/agentctl on {@code peer}'s socket, its stdin from {@code input}, its stdout in {@code dir}. */
    static Process agentctl(ScriptedPeer peer, File input, Path dir, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(AGENTCTL.toString(), "--socket", peer.socket().toString()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectInput(input).redirectOutput(dir.resolve("out").toFile()).start();
    }

    /** The peer greets agentctl (no features), takes its exec request and answers it started; returns the request. */
    private static Frame started(ScriptedPeer peer) throws Exception {
        peer.accept();
        Frame request = peer.receive();
        assertEquals(MessageType.EXEC_REQUEST, request.type());
        peer.send(new Frame(request.id(), MessageType.EXEC_STARTED, new ExecStarted(4321)));
        return request;
    }

    private static void interrupt(Process p) throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor());
    }

    /** agentctl ends within {@code seconds} with 125 and a line on stderr holding {@code line}. */
    static void assertEnds125(Process p, int seconds, String line) throws Exception {
        assertTrue(p.waitFor(seconds, TimeUnit.SECONDS), "agentctl still waits");
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(125, p.exitValue(), err);
        assertTrue(err.contains(line), err);
    }
}
