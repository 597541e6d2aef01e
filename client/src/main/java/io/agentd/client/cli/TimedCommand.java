package io.agentd.client.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a short helper command (stty) that must never hold agentctl up: it reads this process's
 * stdin (the terminal), its output goes to a file instead of a pipe, so nothing waits for an EOF
 * that a stopped or stuck helper would never give, and it is killed at the timeout. A helper that
 * touches the terminal from a background process group is stopped by SIGTTOU and ends that way.
 */
final class TimedCommand {
    private TimedCommand() {}

    /** The command's stdout when it exits 0 within {@code timeout}; null otherwise (it is then killed). */
    static String output(List<String> command, Duration timeout) {
        Path out = null;
        Process p = null;
        try {
            out = Files.createTempFile("agentctl-", ".out");
            p = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.INHERIT)
                    .redirectOutput(out.toFile())
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                return null;
            }
            return p.exitValue() == 0 ? Files.readString(out, StandardCharsets.UTF_8) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            if (p != null && p.isAlive()) {
                p.destroyForcibly(); // SIGKILL ends a stopped process too
            }
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException e) {
                    // a temp file left behind is not worth failing for
                }
            }
        }
    }
}
