package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.agentd.client.AgentClient;
import io.agentd.client.ScriptedPeer;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.Ready;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** agentctl exec --detach against a scripted agent: what it asks for, and what it prints. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DetachCommandTest {

    /** What the command sent, printed and returned. */
    private record Run(ExecRequest request, int code, String out, String err) {}

    /** Runs exec --detach with {@code args} against an agent listing sessions (and stdin_window, which it must not use). */
    private static Run detach(Path dir, String... args) throws Exception {
        return detachFrom(dir, null, args);
    }

    /** {@link #detach}, from a terminal whose $TERM is {@code localTerm}. */
    private static Run detachFrom(Path dir, String localTerm, String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (ScriptedPeer agent = new ScriptedPeer(dir)) {
            AgentClient client = agent.connect(Ready.FEATURE_SESSIONS, Ready.FEATURE_STDIN_WINDOW);
            DetachCommand command = new DetachCommand(ExecOptions.parse(List.of(args)), localTerm,
                    new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
            CompletableFuture<Integer> code = CompletableFuture.supplyAsync(() -> {
                try {
                    return command.run(() -> client);
                } catch (Agentctl.Unavailable e) {
                    throw new IllegalStateException(e);
                }
            });
            Frame request = agent.receive();
            assertEquals(MessageType.EXEC_REQUEST, request.type());
            agent.send(new Frame(request.id(), MessageType.EXEC_STARTED, new ExecStarted(4321, 17L)));
            return new Run((ExecRequest) request.payload(), code.get(20, TimeUnit.SECONDS),
                    out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        }
    }

    /**
     * The agent must detach the session at its start: left on agentctl's connection until it closes,
     * a short command's exit went there and was thrown away with the session (review, item 1).
     */
    @Test
    void execDetachAsksTheAgentToDetachTheSessionAtItsStart(@TempDir Path dir) throws Exception {
        Run run = detach(dir, "--detach", "--", "sh", "-c", "echo hi; exit 3");
        assertTrue(run.request().detachable());
        assertTrue(run.request().startDetached());
        assertFalse(run.request().stdinWindow(), "no stdin is ever sent on the id: no credit asked");
        assertEquals(0, run.code(), run.err());
        assertEquals("17\n", run.out());
    }

    /** -t with stdin not a terminal (a script, CI) takes the default size; it threw NullPointerException. */
    @Test
    void execDetachTtyWithoutATerminalOnStdinUsesTheDefaultSize(@TempDir Path dir) throws Exception {
        assumeTrue(LocalTerminal.onStdin() == null, "the test's stdin must not be a terminal (it never is under surefire)");
        Run run = detach(dir, "--detach", "-t", "--", "sh", "-c", "echo x");
        assertEquals(0, run.code(), run.err());
        assertTrue(run.request().tty());
        assertEquals(ExecRequest.DEFAULT_ROWS, run.request().rows());
        assertEquals(ExecRequest.DEFAULT_COLS, run.request().cols());
        assertEquals("17\n", run.out());
    }

    /**
     * -t passes the local TERM, as exec -t does (-e TERM=... still wins): the detached PTY session
     * got the agent's xterm-256color whatever the caller's terminal was. Without -t, none.
     */
    @Test
    void execDetachTtyPassesTheLocalTerm(@TempDir Path dir) throws Exception {
        assertEquals(List.of("TERM=screen"),
                detachFrom(Files.createDirectory(dir.resolve("t")), "screen", "--detach", "-t", "--", "sh").request().env());
        assertEquals(List.of("TERM=dumb"), detachFrom(Files.createDirectory(dir.resolve("e")), "screen",
                "--detach", "-t", "-e", "TERM=dumb", "--", "sh").request().env());
        assertEquals(List.of(),
                detachFrom(Files.createDirectory(dir.resolve("no-t")), "screen", "--detach", "--", "sh").request().env());
    }
}
