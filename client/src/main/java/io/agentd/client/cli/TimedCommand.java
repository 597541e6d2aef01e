package io.agentd.client.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a short helper command (stty) that must never hold agentctl up: it reads this process's
 * stdin (the terminal) and is killed at the timeout. Its output is read only once it has exited,
 * and only what the pipe holds then: nothing waits for an EOF that a stopped or stuck helper (or a
 * child of it that kept the pipe) would never give, and nothing is left on disk if agentctl is
 * killed meanwhile. A helper that touches the terminal from a background process group is stopped
 * by SIGTTOU and ends that way.
 */
final class TimedCommand {
    private TimedCommand() {}

    /** The command's stdout when it exits 0 within {@code timeout}; null otherwise (it is then killed). */
    static String output(List<String> command, Duration timeout) {
        Process p = null;
        try {
            p = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.INHERIT)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS) || p.exitValue() != 0) {
                return null;
            }
            return new String(heldNow(p.getInputStream()), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            if (p != null) {
                if (p.isAlive()) {
                    p.destroyForcibly(); // SIGKILL ends a stopped process too
                }
                try {
                    p.getInputStream().close();
                } catch (IOException e) {
                    // the pipe's read end: nothing more to do with it
                }
            }
        }
    }

    /**
     * What {@code in} holds without waiting: the exited helper's output is all in the pipe (or in the
     * buffer the JDK drained it into at the exit); a read to EOF would wait on a child of the helper.
     */
    private static byte[] heldNow(InputStream in) throws IOException {
        ByteArrayOutputStream held = new ByteArrayOutputStream();
        int n;
        while ((n = in.available()) > 0) {
            held.write(in.readNBytes(n));
        }
        return held.toByteArray();
    }
}
