package io.agentd.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The JVM floor of the agent's idle RSS: {@link IdleJvm} run by the agent's own java command (its
 * binary, every flag the launcher gave it, its class path with this module's classes appended, which
 * AppCDS accepts, so the agent's archive is mapped as for the agent), idle for as long as the agent
 * is before its RSS is read.
 */
final class JvmFloor {
    private JvmFloor() {}

    /**
     * The command: {@code agentJvm} (the agent's argv up to its main class) with this module's
     * classes appended to its class path and {@link IdleJvm} as the main class.
     */
    static List<String> command(List<String> agentJvm) throws IOException {
        List<String> cmd = new ArrayList<>(agentJvm);
        int cp = cmd.indexOf("-cp");
        if (cp < 0 || cp + 1 >= cmd.size()) {
            throw new IOException("the agent's java command has no -cp: " + agentJvm);
        }
        cmd.set(cp + 1, cmd.get(cp + 1) + ":" + ownClasses());
        cmd.add(IdleJvm.class.getName());
        return cmd;
    }

    /**
     * One bare JVM's run: the time from starting its process to its main() printing (the JVM's own
     * start-up, which the agent's ready time contains), and its RSS after idling for {@code settleMillis}.
     */
    record Run(long startToMainNanos, long rssBytes) {}

    /** Starts one bare JVM, waits for its main() to run, lets it idle {@code settleMillis}, reads its RSS. */
    static Run run(List<String> command, long settleMillis) throws IOException, InterruptedException {
        long start = System.nanoTime();
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String first = out.readLine();
            long startToMain = System.nanoTime() - start;
            if (!IdleJvm.RUNNING.equals(first)) {
                throw new IOException("the bare JVM did not start (printed " + first + "): " + command);
            }
            Thread.sleep(settleMillis);
            return new Run(startToMain, ProcStatus.of(p.pid()).rssBytes());
        } finally {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    /** The jar or directory IdleJvm was loaded from. */
    private static String ownClasses() throws IOException {
        try {
            return Path.of(IdleJvm.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (URISyntaxException | NullPointerException e) {
            throw new IOException("cannot tell where the bench's classes are", e);
        }
    }
}
