package io.agentd.client.cli;

import io.agentd.client.ScriptedPeer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** agentctl run in-process against a scripted agent: its exit code and what it printed. */
final class ScriptedAgentctl {
    record Run(int code, String out, String err) {}

    /** The agent's part after its core.ready. */
    interface Script {
        void play(ScriptedPeer agent) throws Exception;
    }

    private ScriptedAgentctl() {}

    /** agentctl ARGS against an agent listing {@code features}; {@code script} (may be null) plays the agent's part after ready. */
    static Run run(Path dir, List<String> features, Script script, String... args) throws Exception {
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
}
