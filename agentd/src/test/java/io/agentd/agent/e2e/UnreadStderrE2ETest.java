package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecRequest;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An agent whose standard error is a pipe nobody reads, as a serial console far behind is: the lines
 * of a host with hundreds of sessions, their starts and the host's loss, must not hold the other
 * hosts. The loop wrote each line itself, and stopped at the first line the full pipe did not take:
 * the sessions' starts stalled, and every host's ping with them. Those lines now wait in the log's
 * queue (or are dropped and counted); the sessions killed with their host are one line.
 */
@Timeout(120)
class UnreadStderrE2ETest {
    private static final Path MODULE = Path.of(System.getProperty("user.dir"));
    private static final int SESSIONS = 300;
    /**
     * Env keys that make each start line about 800 bytes (keys are logged, values never): the 300
     * lines fill the pipe (64 KiB), not the log's queue behind it, so that the host's loss is logged.
     */
    private static final List<String> ENV = IntStream.range(0, 6)
            .mapToObj(i -> String.format("KEY_%02d_%s=v", i, "k".repeat(90))).toList();
    /** Generous: a ping is answered in milliseconds on an idle loop. */
    private static final Duration PING_BOUND = Duration.ofSeconds(5);

    @Test
    void aLostHostsSessionsDoNotHoldOtherHostsWhileStderrIsNotRead() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(MODULE.resolve("target/e2e")), "unread-stderr-");
        Path socket = dir.resolve("agent.sock");
        // Standard error is a FIFO the test opens and leaves unread until the end: a pipe from
        // Process.getErrorStream is read by the JDK itself when the process exits, and lines were lost
        // between that and the test's reader.
        Path fifo = dir.resolve("stderr");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor());
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", "exec \"$0\" \"$@\" 2>\"$AGENT_STDERR\"",
                AgentProcess.LAUNCHER.toString(), "--listen", "unix:" + socket,
                "--state-dir", dir.resolve("state").toString())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("AGENT_STDERR", fifo.toString());
        pb.environment().put("AGENTD_HOME", MODULE.resolve("target/dist").toString());
        pb.environment().put("JAVA_OPTS", "");
        Process agent = pb.start();
        try (InputStream stderrPipe = new FileInputStream(fifo.toFile())) { // opened as the agent's shell opens it
            awaitSocket(agent, socket);
            try (HostConnection other = HostConnection.open(socket)) {
                other.expect(0, MessageType.CORE_READY);
                try (HostConnection many = HostConnection.open(socket)) {
                    many.expect(0, MessageType.CORE_READY);
                    ExecRequest sleep = new ExecRequest("sleep", List.of("1000"), ENV, null, null, false, 24, 80,
                            List.of(), null);
                    for (long id = 1; id <= SESSIONS; id++) {
                        many.exec(id, sleep);
                    }
                    for (long id = 1; id <= SESSIONS; id++) {
                        many.expect(id, MessageType.EXEC_STARTED); // each start line is logged before its started
                    }
                } // closed: the host-loss policy kills its sessions
                for (long ping = 1; ping <= 5; ping++) {
                    other.send(new Frame(ping, MessageType.CORE_PING, Empty.INSTANCE));
                    assertEquals(MessageType.CORE_PONG, other.next(ping, PING_BOUND).type());
                    Thread.sleep(100);
                }
            }
            ByteArrayOutputStream stderr = new ByteArrayOutputStream();
            Thread reader = new Thread(() -> readAll(stderrPipe, stderr));
            reader.start();
            agent.destroy(); // SIGTERM: the agent's own stop, its queue written before it exits
            assertTrue(agent.waitFor(60, TimeUnit.SECONDS), "agent still running");
            reader.join(10_000);
            String log = stderr.toString(StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("agent.log"), log); // for a failure's reader
            assertTrue(log.contains("host gone: " + SESSIONS + " session(s) of connection ")
                    && log.contains(" killed, no exit lines follow: ids 1-" + SESSIONS + ";"), tail(log));
            assertEquals(0, log.lines().filter(l -> l.contains(" abandoned")).count(), tail(log));
            long started = log.lines().filter(l -> l.contains("Session: session ") && l.contains(" started: ")).count();
            long dropped = log.lines().filter(l -> l.contains(" log lines (")
                    && l.contains("dropped: standard error was not taking them fast enough"))
                    .mapToLong(l -> Long.parseLong(l.substring(l.indexOf("Logging: ") + 9, l.indexOf(" log lines ("))))
                    .sum();
            assertEquals(SESSIONS, started + dropped, "every start line written or counted:\n" + tail(log));
            assertTrue(log.contains("agentd exits 143"), "the last line, written at the exit:\n" + tail(log));
        } finally {
            agent.destroyForcibly();
            agent.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static void awaitSocket(Process agent, Path socket) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(socket)) {
            assertTrue(agent.isAlive(), "agent exited " + (agent.isAlive() ? "" : agent.exitValue()));
            assertTrue(System.nanoTime() < deadline, "agent not listening after 30 s");
            Thread.sleep(20);
        }
    }

    private static void readAll(InputStream in, ByteArrayOutputStream into) {
        try {
            in.transferTo(into);
        } catch (IOException ignored) {
            // the agent is gone: what was read is what there is
        }
    }

    private static String tail(String log) {
        return "standard error (" + log.length() + " chars), its end:\n"
                + (log.length() <= 4000 ? log : "…" + log.substring(log.length() - 4000));
    }
}
