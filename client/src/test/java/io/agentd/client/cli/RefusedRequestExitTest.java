package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.ScriptedPeer;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.Ready;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A request the agent does not offer (a feature its core.ready does not list, refused by the
 * client) or refuses (core.error) exits 126 with the reason, not 125: there was an agent to talk
 * to. agentctl runs in-process against a scripted agent.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RefusedRequestExitTest {

    private record Run(int code, String out, String err) {}

    /** agentctl ARGS against an agent listing {@code features}; {@code script} plays the agent's part after ready. */
    private interface Script {
        void play(ScriptedPeer agent) throws Exception;
    }

    private static Run agentctl(Path dir, List<String> features, Script script, String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (ScriptedPeer agent = new ScriptedPeer(dir)) {
            List<String> argv = new ArrayList<>(List.of("--socket", agent.socket().toString()));
            argv.addAll(List.of(args));
            CompletableFuture<Integer> code = CompletableFuture.supplyAsync(() -> Agentctl.run(argv, null,
                    new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)));
            agent.accept(features.toArray(String[]::new));
            if (script != null) {
                script.play(agent);
            }
            return new Run(code.get(20, TimeUnit.SECONDS), out.toString(StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8));
        }
    }

    private static Path sub(Path dir, String name) throws Exception {
        return java.nio.file.Files.createDirectory(dir.resolve(name));
    }

    @Test
    void aProfileTheAgentDoesNotTakeExits126(@TempDir Path dir) throws Exception {
        Run exec = agentctl(sub(dir, "a"), List.of(), null,
                "exec", "--profile", "strict", "--", "true");
        assertEquals(126, exec.code(), exec.toString());
        assertTrue(exec.err().startsWith("agentctl: the agent does not take a per-request profile"), exec.err());

        Run detached = agentctl(sub(dir, "b"),
                List.of(Ready.FEATURE_SESSIONS), null, "exec", "--detach", "--profile", "strict", "--", "true");
        assertEquals(126, detached.code(), detached.toString());
        assertTrue(detached.err().startsWith("agentctl: the agent does not take a per-request profile"),
                detached.err());
    }

    @Test
    void sessionsFromAnAgentThatKeepsNoneExit126(@TempDir Path dir) throws Exception {
        int n = 0;
        for (List<String> args : List.of(List.of("ps"), List.of("attach", "5"),
                List.of("exec", "--detach", "--", "true"))) {
            Path d = sub(dir, "d" + n++);
            Run r = agentctl(d, List.of(), null, args.toArray(String[]::new));
            assertEquals(126, r.code(), args + ": " + r);
            assertTrue(r.err().contains("the agent does not keep sessions"), args + ": " + r.err());
            assertEquals(1, r.err().lines().count(), r.err());
        }
    }

    @Test
    void psRefusedByTheAgentExits126(@TempDir Path dir) throws Exception {
        Run r = agentctl(dir, List.of(Ready.FEATURE_SESSIONS), agent -> {
            Frame list = agent.receive();
            assertEquals(MessageType.SESSION_LIST, list.type());
            agent.send(new Frame(list.id(), MessageType.CORE_ERROR,
                    new ErrorPayload("unsupported_message_type", "not here", MessageType.SESSION_LIST.wire())));
        }, "ps");
        assertEquals(126, r.code(), r.toString());
        assertEquals("", r.out());
        assertTrue(r.err().startsWith("agentctl: ps: agent refused " + MessageType.SESSION_LIST.wire() + ": unsupported_message_type: not here"),
                r.err());
    }
}
