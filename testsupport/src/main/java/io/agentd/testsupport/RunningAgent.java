package io.agentd.testsupport;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One agent run as a separate process through the launcher ({@code scripts/agentd}), the way it is
 * deployed, serving a unix socket; its console output goes to a log file (a chatty agent never
 * blocks on a full pipe). The one fixture behind the agentd end-to-end tests, the client's tests
 * and the bench: each wraps it with its own way of talking to the agent.
 *
 * <p>{@link #connect} waits for the socket path to exist, then connects. A timeout or an agent that
 * exits first is an error that quotes the tail of the agent's log.
 */
public final class RunningAgent implements AutoCloseable {
    /** How long an agent may take to start listening before the fixture gives up. */
    public static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    /** Lines of the agent's log quoted in an error. */
    private static final int LOG_TAIL_LINES = 40;
    /** The socket is polled this often while the agent starts (fine: the bench times start-up this way). */
    private static final long POLL_NANOS = 200_000;

    /** Connects to the agent's socket: the caller's client, raw channel or test connection. */
    @FunctionalInterface
    public interface Connector<T> {
        T connect(Path socket) throws Exception;
    }

    private final Process process;
    private final Path socket;
    private final Path log;
    private final long startNanos;

    private RunningAgent(Process process, Path socket, Path log, long startNanos) {
        this.process = process;
        this.socket = socket;
        this.log = log;
        this.startNanos = startNanos;
    }

    /**
     * Runs {@code launcher} with {@code args} as given (no --listen is added: see {@link #listening}).
     *
     * @param env extra environment (AGENTD_HOME, JAVA_OPTS, ...); null values remove the variable
     * @param socket the socket it will listen on (null: none, e.g. a port or --help)
     */
    public static RunningAgent launch(Path launcher, List<String> args, Map<String, String> env, Path socket,
            Path log) throws IOException {
        if (!Files.isExecutable(launcher)) {
            throw new IOException(launcher + " is missing or not executable");
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(launcher.toString());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        env.forEach((k, v) -> {
            if (v == null) {
                pb.environment().remove(k);
            } else {
                pb.environment().put(k, v);
            }
        });
        long start = System.nanoTime();
        return new RunningAgent(pb.start(), socket, log, start);
    }

    /** Runs {@code launcher --listen unix:SOCKET} followed by {@code args}. */
    public static RunningAgent listening(Path launcher, Path socket, List<String> args, Map<String, String> env,
            Path log) throws IOException {
        Files.deleteIfExists(socket);
        List<String> all = new ArrayList<>(List.of("--listen", "unix:" + socket));
        all.addAll(args);
        return launch(launcher, all, env, socket, log);
    }

    /** Returns once the socket path exists; an exit or {@link #START_TIMEOUT} first is an error. */
    public void awaitSocket() throws IOException, InterruptedException {
        long deadline = startNanos + START_TIMEOUT.toNanos();
        while (!Files.exists(socket)) {
            checkStillStarting(deadline);
            Thread.sleep(0, (int) POLL_NANOS);
        }
    }

    /**
     * Waits for the socket, then connects with {@code connector}: once the path exists the agent
     * listens (it binds under a temporary name and renames the socket into place once listening).
     */
    public <T> T connect(Connector<T> connector) throws Exception {
        awaitSocket();
        return connector.connect(socket);
    }

    private void checkStillStarting(long deadlineNanos) throws IOException {
        if (!process.isAlive()) {
            throw new IOException("agent exited " + process.exitValue() + " before listening on " + socket
                    + "; the end of its log (" + log + "):\n" + logTail());
        }
        if (System.nanoTime() - deadlineNanos > 0) {
            throw new IOException("agent not listening on " + socket + " after " + START_TIMEOUT.toSeconds()
                    + " s; the end of its log (" + log + "):\n" + logTail());
        }
    }

    public Path socket() {
        return socket;
    }

    public Path log() {
        return log;
    }

    /** The launcher's process (it execs java, so normally the agent's JVM itself). */
    public Process process() {
        return process;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** System.nanoTime() just before the launcher was started. */
    public long startNanos() {
        return startNanos;
    }

    /** Waits for the agent to exit; false on timeout. */
    public boolean waitForExit(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * The whole log, or a line saying why there is none. The agent writes its log lines from a thread
     * of their own (its loop never waits for standard error), so a line logged before an answer can
     * reach the file after the host has the answer: while the agent runs, this waits for the file to
     * stop growing for {@link #LOG_SETTLE_MILLIS} (at most {@link #LOG_SETTLE_LIMIT_MILLIS}) first.
     */
    public String logText() {
        try {
            awaitLogSettled();
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** The log as the file holds it now, without waiting for lines on their way (for polling loops). */
    public String logSoFar() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** How long the log must not grow to count as written up to now. */
    private static final long LOG_SETTLE_MILLIS = 100;
    /** Longest wait for that (an agent that logs all the time never settles). */
    private static final long LOG_SETTLE_LIMIT_MILLIS = 2000;

    private void awaitLogSettled() throws IOException {
        long limit = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LOG_SETTLE_LIMIT_MILLIS);
        long size = Files.size(log);
        long stillSince = System.nanoTime();
        while (process.isAlive() && System.nanoTime() < limit) {
            if (System.nanoTime() - stillSince >= TimeUnit.MILLISECONDS.toNanos(LOG_SETTLE_MILLIS)) {
                return;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long now = Files.size(log);
            if (now != size) {
                size = now;
                stillSince = System.nanoTime();
            }
        }
    }

    /** The last lines of the log, for error messages. */
    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** SIGTERM (the agent's own shutdown), SIGKILL if it is still there after {@code grace}. */
    public void stop(Duration grace) throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop(Duration.ofSeconds(15));
    }
}
