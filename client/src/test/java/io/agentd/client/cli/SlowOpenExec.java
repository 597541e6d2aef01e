package io.agentd.client.cli;

import io.agentd.client.AgentClient;
import io.agentd.client.ExecSession;
import io.agentd.protocol.payload.ExecRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * {@code agentctl exec --sig-proxy=false -- sh -c SCRIPT} (ExecCommand as agentctl runs it) whose
 * session open returns only once the command's output has been written and the file {@code go}
 * exists: it holds open the window between the first output and open's return, in which a signal
 * sent on seeing that output used to meet the JVM's default handler (exit 130) instead of a detach.
 * Run in a JVM of its own by {@code AgentctlEndToEndTest}; args: socket, go, script.
 */
public final class SlowOpenExec {
    private SlowOpenExec() {}

    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[0]);
        Path go = Path.of(args[1]);
        String script = args[2];
        ExecCommand command = new ExecCommand(false, false, false, "sh", null, (client, size, listener) -> {
            CountDownLatch shown = new CountDownLatch(1);
            ExecSession session = client.start(ExecRequest.of("sh", "-c", script), output -> {
                listener.onOutput(output);
                shown.countDown();
            });
            try {
                shown.await();
                while (!Files.exists(go)) {
                    Thread.sleep(10);
                }
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return session;
        }, true, new ExecCommand.LeaveRunning("", false), System.err);
        int status = command.run(() -> {
            try {
                return AgentClient.connect(socket, Duration.ofSeconds(30));
            } catch (Exception e) {
                throw new Agentctl.Unavailable(e.toString());
            }
        });
        System.exit(status);
    }
}
