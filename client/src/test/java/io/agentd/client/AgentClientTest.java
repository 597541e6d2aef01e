package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecResize;
import io.agentd.protocol.payload.FailureKind;
import io.agentd.protocol.payload.Rlimit;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The client library against a real agentd on a unix socket (the module's shared one; one connection for the class). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(SharedAgent.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AgentClientTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    private AgentClient client;

    @BeforeAll
    void connect(AgentdProcess agentd) throws Exception {
        client = agentd.connect();
    }

    @AfterAll
    void disconnect() {
        if (client != null) {
            client.close();
        }
    }

    private static ExecRequest sh(String script) {
        return ExecRequest.of("/bin/sh", "-c", script);
    }

    @Test
    void exitCodesOfNormalExitsAndSignalDeaths() throws Exception {
        assertEquals(0, client.run(ExecRequest.of("true"), WAIT).exitCode());
        ExecResult three = client.run(sh("exit 3"), WAIT);
        assertEquals(3, three.exitCode());
        assertNull(three.signal());
        ExecResult term = client.run(sh("kill -TERM $$"), WAIT);
        assertEquals(128 + 15, term.exitCode());
        assertEquals(15, term.signal());
        assertFalse(term.timedOut());
    }

    @Test
    void runSeparatesStdoutAndStderrAndFeedsStdin() throws Exception {
        byte[] input = "line one\nline two\n".getBytes(StandardCharsets.UTF_8);
        ExecResult r = client.run(sh("cat; echo to-err >&2; printf end"), input, WAIT);
        assertEquals(0, r.exitCode());
        assertEquals("line one\nline two\nend", r.stdoutText());
        assertEquals("to-err\n", r.stderrText());
    }

    @Test
    void streamedOutputArrivesInOrderAndEndsBeforeExit() throws Exception {
        ExecSession s = client.start(sh("i=1; while [ $i -le 500 ]; do echo line$i; i=$((i+1)); done"));
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        Output o;
        while ((o = s.nextOutput(WAIT)) != null) {
            assertEquals(Output.Stream.STDOUT, o.stream());
            got.writeBytes(o.data());
        }
        StringBuilder expected = new StringBuilder();
        for (int i = 1; i <= 500; i++) {
            expected.append("line").append(i).append('\n');
        }
        assertEquals(expected.toString(), got.toString(StandardCharsets.UTF_8));
        assertTrue(s.isDone(), "the end of output comes with the exit");
        assertEquals(0, s.awaitExit(WAIT).code());
        assertNull(s.nextOutput(WAIT), "after the end, nextOutput keeps saying so");
    }

    @Test
    void stdinRoundTripsWhileTheSessionRuns() throws Exception {
        ExecSession cat = client.start(ExecRequest.of("cat"));
        assertTrue(cat.awaitStarted(WAIT) > 0);
        for (int i = 0; i < 5; i++) {
            byte[] line = ("ping " + i + "\n").getBytes(StandardCharsets.UTF_8);
            cat.writeStdin(line);
            assertArrayEquals(line, readExactly(cat, line.length), "echo of line " + i + " before exit");
        }
        assertFalse(cat.isDone());
        cat.closeStdin();
        assertEquals(0, cat.awaitExit(WAIT).code());
        assertNull(cat.nextOutput(WAIT));
    }

    private static byte[] readExactly(ExecSession s, int n) throws Exception {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        while (got.size() < n) {
            Output o = s.nextOutput(WAIT);
            if (o == null) {
                break;
            }
            got.writeBytes(o.data());
        }
        return got.toByteArray();
    }

    @Test
    void manySessionsAtOnceOverOneConnection() throws Exception {
        int n = 24;
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<ExecResult>> results = new ArrayList<>();
            List<ExecSession> sessions = new ArrayList<>();
            // half streaming sessions held open, half run to completion from several threads at once
            for (int i = 0; i < n / 2; i++) {
                sessions.add(client.start(ExecRequest.of("cat")));
            }
            for (int i = 0; i < n / 2; i++) {
                int k = i;
                results.add(pool.submit(() -> client.run(sh("sleep 0.2; echo out-" + k + "; echo err-" + k + " >&2; exit " + k), WAIT)));
            }
            Set<Long> ids = new HashSet<>();
            for (ExecSession s : sessions) {
                assertNotEquals(0, s.id());
                assertTrue(ids.add(s.id()), "ids of live sessions are distinct");
            }
            for (int i = 0; i < n / 2; i++) {
                ExecResult r = results.get(i).get(30, TimeUnit.SECONDS);
                assertEquals(i, r.exitCode());
                assertEquals("out-" + i + "\n", r.stdoutText());
                assertEquals("err-" + i + "\n", r.stderrText());
            }
            for (int i = 0; i < sessions.size(); i++) {
                byte[] msg = ("session " + i + "\n").getBytes(StandardCharsets.UTF_8);
                sessions.get(i).writeStdin(msg);
                sessions.get(i).closeStdin();
            }
            for (int i = 0; i < sessions.size(); i++) {
                byte[] msg = ("session " + i + "\n").getBytes(StandardCharsets.UTF_8);
                assertArrayEquals(msg, readExactly(sessions.get(i), msg.length));
                assertNull(sessions.get(i).nextOutput(WAIT), "no output of another session");
                assertEquals(0, sessions.get(i).awaitExit(WAIT).code());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aCommandThatIsNotThereFailsWithATypedException() throws Exception {
        ExecFailedException e = assertThrows(ExecFailedException.class,
                () -> client.run(ExecRequest.of("/nonexistent/no-such-program"), WAIT));
        assertEquals(FailureKind.NOT_FOUND, e.kind());
        assertEquals("ENOENT", e.errnoName());
        assertEquals(2, e.errno());
        assertEquals("execve", e.stage());
        assertTrue(e.getMessage().contains("not_found"), e.getMessage());
    }

    @Test
    void aBadWorkingDirectoryFailsAtChdir() throws Exception {
        ExecRequest r = new ExecRequest("true", List.of(), List.of(), "/nonexistent-dir", null, false,
                24, 80, List.of(), null);
        ExecSession s = client.start(r);
        ExecFailedException e = assertThrows(ExecFailedException.class, () -> s.awaitExit(WAIT));
        assertEquals(FailureKind.BAD_CWD, e.kind());
        assertEquals("chdir", e.stage());
        assertThrows(ExecFailedException.class, () -> s.awaitStarted(WAIT), "never started");
        assertNull(s.nextOutput(WAIT));
    }

    @Test
    void coreErrorForAnUnknownSessionReachesTheCallThatCausedIt() throws Exception {
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> client.call(MessageType.EXEC_RESIZE, new ExecResize(30, 100)).get(20, TimeUnit.SECONDS));
        AgentErrorException error = (AgentErrorException) e.getCause();
        assertEquals(ErrorKind.INVALID_SESSION, error.kind());
        assertEquals("core.exec.resize", error.offendingType());
        // the connection goes on
        assertTrue(client.ping(WAIT).toNanos() > 0);
    }

    @Test
    void aBadRlimitFailsThatSessionOnlyWithATypedFailure() throws Exception {
        ExecSession bystander = client.start(ExecRequest.of("cat"));
        bystander.awaitStarted(WAIT);
        ExecRequest bad = new ExecRequest("true", List.of(), List.of(), null, null, false, 24, 80,
                List.of(new Rlimit("no-such-limit", 1, 1)), null);
        ExecFailedException e = assertThrows(ExecFailedException.class, () -> client.run(bad, WAIT));
        assertEquals(FailureKind.BAD_ARGS, e.kind());
        assertTrue(e.getMessage().contains("no-such-limit"), e.getMessage());

        bystander.writeStdin("still here\n".getBytes(StandardCharsets.UTF_8));
        assertEquals("still here\n", new String(readExactly(bystander, 11), StandardCharsets.UTF_8));
        bystander.closeStdin();
        assertEquals(0, bystander.awaitExit(WAIT).code());
    }

    @Test
    void coreErrorsAboutFramesOfARunningSessionLandOnItAndLeaveItRunning() throws Exception {
        ExecSession s = client.start(ExecRequest.of("cat"));
        s.awaitStarted(WAIT);
        s.signal(99); // outside 1..64
        client.send(new Frame(s.id(), MessageType.EXEC_REQUEST, ExecRequest.of("true"))); // a second request on a live id
        List<AgentErrorException> errors = awaitErrors(s, 2);
        assertEquals(ErrorKind.INVALID_PAYLOAD, errors.get(0).kind());
        assertEquals("core.exec.signal", errors.get(0).offendingType());
        assertEquals(ErrorKind.INVALID_SESSION, errors.get(1).kind());
        assertEquals("core.exec.request", errors.get(1).offendingType());
        assertFalse(s.isDone());
        s.closeStdin();
        assertEquals(0, s.awaitExit(WAIT).code());
    }

    private static List<AgentErrorException> awaitErrors(ExecSession s, int n) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (s.errors().size() < n && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(n, s.errors().size(), s.errors().toString());
        return s.errors();
    }

    @Test
    void coreErrorAboutAFrameOfARunningSessionLeavesItRunning() throws Exception {
        CompletableFuture<AgentErrorException> seen = new CompletableFuture<>();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ExecSession s = client.start(ExecRequest.of("cat"), new OutputListener() {
            @Override
            public void onOutput(Output output) {
                out.writeBytes(output.data());
            }

            @Override
            public void onAgentError(AgentErrorException error) {
                seen.complete(error);
            }
        });
        s.awaitStarted(WAIT);
        s.resize(50, 50); // a pipe session has no terminal to resize
        AgentErrorException e = seen.get(20, TimeUnit.SECONDS);
        assertEquals("core.exec.resize", e.offendingType());
        assertNotNull(e.kind(), e.kindWire());
        assertFalse(s.isDone());
        assertEquals(List.of(e), s.errors());

        s.writeStdin("after\n".getBytes(StandardCharsets.UTF_8));
        s.closeStdin();
        assertEquals(0, s.awaitExit(WAIT).code());
        assertEquals("after\n", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void signalReachesTheSessionsProcessGroup() throws Exception {
        ExecSession s = client.start(ExecRequest.of("sleep", "60"));
        s.awaitStarted(WAIT);
        s.signal(15);
        ExitStatus status = s.awaitExit(WAIT);
        assertEquals(143, status.code());
        assertEquals(15, status.signal());
        assertThrows(AgentException.class, () -> s.signal(9), "an ended session takes no more signals");
    }

    @Test
    void ptySessionTakesItsSizeAndResizes() throws Exception {
        ExecRequest r = new ExecRequest("/bin/sh", List.of(), List.of(), null, null, true, 30, 100,
                List.of(), null);
        ExecSession s = client.start(r);
        s.writeStdin("stty size\n".getBytes(StandardCharsets.UTF_8));
        awaitOutputContaining(s, "30 100");
        s.resize(40, 120);
        s.writeStdin("stty size\n".getBytes(StandardCharsets.UTF_8));
        awaitOutputContaining(s, "40 120");
        s.writeStdin("exit 7\n".getBytes(StandardCharsets.UTF_8));
        assertEquals(7, s.awaitExit(WAIT).code());
    }

    private static void awaitOutputContaining(ExecSession s, String text) throws Exception {
        StringBuilder seen = new StringBuilder();
        while (!seen.toString().contains(text)) {
            Output o = s.nextOutput(WAIT);
            if (o == null) {
                throw new AssertionError("session ended before '" + text + "'; saw: " + seen);
            }
            seen.append(o.text());
        }
    }

    @Test
    void theAgentStopsACommandAtItsTimeout() throws Exception {
        ExecRequest r = new ExecRequest("sleep", List.of("60"), List.of(), null, null, false, 24, 80,
                List.of(), 300L);
        ExecResult result = client.run(r, WAIT);
        assertTrue(result.timedOut());
        assertTrue(result.exitCode() == 143 || result.exitCode() == 137, "killed: " + result);
    }

    @Test
    void aSessionWithStreamsIsUsedLikeAProcess() throws Exception {
        ExecSession s = client.startWithStreams(sh("cat; echo done >&2; exit 4"));
        byte[] input = new byte[1024 * 1024 + 3];
        new java.util.Random(5).nextBytes(input);
        CompletableFuture<Void> feeding = CompletableFuture.runAsync(() -> {
            try (java.io.OutputStream stdin = s.stdin()) {
                stdin.write(input);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        CompletableFuture<byte[]> errors = CompletableFuture.supplyAsync(() -> {
            try {
                return s.stderr().readAllBytes();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        assertArrayEquals(input, s.stdout().readAllBytes());
        assertEquals("done\n", new String(errors.get(20, TimeUnit.SECONDS), StandardCharsets.UTF_8));
        feeding.get(20, TimeUnit.SECONDS);
        assertEquals(4, s.awaitExit(WAIT).code());
        assertNull(s.stdinNotDelivered());
        assertEquals(input.length, s.stdinBytesSent());
    }

    /**
     * More input than the agent queues per session (--stdin-limit, 16 MiB) into a process that
     * reads only after a while. Needs the agent's side of flow control (stdin_window): an agent
     * without it refuses the overflow, and run() then fails with StdinNotDeliveredException.
     */
    @Test
    void runDeliversMoreInputThanTheAgentQueuesToASlowReader() throws Exception {
        byte[] input = new byte[40 * 1024 * 1024];
        ExecResult r = client.run(sh("sleep 1; wc -c"), input, Duration.ofSeconds(50));
        assertEquals(0, r.exitCode(), r.stderrText());
        assertEquals(Integer.toString(input.length), r.stdoutText().trim());
    }

    @Test
    void pingAndTouchAreAnswered() throws Exception {
        assertTrue(client.ping(WAIT).toNanos() > 0);
        long first = client.touch(WAIT);
        long second = client.touch(WAIT);
        assertTrue(Long.compareUnsigned(second, first) >= 0, first + " then " + second);
        assertNotNull(client.ready());
    }
}
