package io.agentd.agent.e2e;

import io.agentd.protocol.MessageType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A running agent, started as a separate process from the build output through the launcher
 * (scripts/agentd with AGENTD_HOME=target/dist), exactly as deployed. Being a separate process keeps
 * its subreaper role and its signals away from the test JVM. It listens on a unix socket in its own
 * directory under target/e2e; its log goes to agent.log there.
 */
final class AgentProcess implements AutoCloseable {
    private static final Path MODULE = Path.of(System.getProperty("user.dir"));
    private static final Path LAUNCHER = MODULE.resolve("../scripts/agentd").normalize();
    private static final Path DIST = MODULE.resolve("target/dist");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    private final Process process;
    private final Path dir;
    private final Path socket;
    private final Path log;

    private AgentProcess(Process process, Path dir) {
        this.process = process;
        this.dir = dir;
        this.socket = dir.resolve("agent.sock");
        this.log = dir.resolve("agent.log");
    }

    /**
     * Starts an agent on a fresh socket with the given extra options; returns once it listens. Its
     * session group records go to its own directory unless the options name one (--state-dir):
     * agents that shared one would see each other's records.
     */
    static AgentProcess startWithJavaOpts(String name, String javaOpts, String... options)
            throws IOException, InterruptedException {
        Path dir = newDir(name);
        List<String> cmd = new ArrayList<>(List.of("--listen", "unix:" + dir.resolve("agent.sock")));
        if (!List.of(options).contains("--state-dir")) {
            cmd.addAll(List.of("--state-dir", dir.resolve("state").toString()));
        }
        cmd.addAll(List.of(options));
        AgentProcess agent = launch(dir, javaOpts, cmd);
        agent.awaitSocket();
        return agent;
    }

    /** Starts an agent serving a character device or tty (--port); returns at once. */
    static AgentProcess startOnPort(String name, Path port) throws IOException {
        Path dir = newDir(name);
        return launch(dir, null, List.of("--port", port.toString(), "--state-dir", dir.resolve("state").toString()));
    }

    /** Runs the launcher to completion (for options that make it exit); output is in the log. */
    static AgentProcess run(String name, String... options) throws IOException, InterruptedException {
        AgentProcess agent = launch(newDir(name), null, List.of(options));
        agent.awaitExit(START_TIMEOUT);
        return agent;
    }

    private static Path newDir(String name) throws IOException {
        return Files.createTempDirectory(Files.createDirectories(MODULE.resolve("target/e2e")), name + "-");
    }

    private static AgentProcess launch(Path dir, String javaOpts, List<String> options) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(LAUNCHER.toString());
        cmd.addAll(options);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("agent.log").toFile());
        pb.environment().put("AGENTD_HOME", DIST.toString());
        pb.environment().put("JAVA_OPTS", javaOpts == null ? "" : javaOpts);
        return new AgentProcess(pb.start(), dir);
    }

    static AgentProcess start(String name, String... options) throws IOException, InterruptedException {
        return startWithJavaOpts(name, null, options);
    }

    private void awaitSocket() throws InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!listening()) {
            if (!process.isAlive()) {
                throw new AssertionError("agent exited " + process.exitValue() + " before listening:\n" + logText());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("agent not listening after " + START_TIMEOUT + ":\n" + logText());
            }
            Thread.sleep(20);
        }
    }

    /**
     * True once the agent accepts connections: the agent binds its socket under a temporary name and
     * renames it onto the path only once it listens, so the path alone says it (and a probe
     * connection, which would count as the host's, is not needed).
     */
    private boolean listening() {
        return Files.exists(socket);
    }

    HostConnection connect() throws IOException {
        return HostConnection.open(socket);
    }

    /** A new host connection, past the agent's core.ready. */
    HostConnection connectReady() throws IOException, InterruptedException {
        HostConnection host = connect();
        host.expect(0, MessageType.CORE_READY);
        return host;
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Sends a signal to the agent process (by number), as an operator or init would. */
    void signal(int signal) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid())).inheritIO().start();
        if (kill.waitFor() != 0) {
            throw new AssertionError("kill -" + signal + " " + pid() + " failed");
        }
    }

    /** Waits for the agent to exit; returns its exit status. */
    int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("agent still running after " + timeout + ":\n" + logText());
        }
        return process.exitValue();
    }

    String logText() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    Path dir() {
        return dir;
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy(); // SIGTERM: the agent's own shutdown
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }
}
