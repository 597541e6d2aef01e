package io.agentd.client;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real agentd, started as a subprocess through scripts/agentd on a unix socket in {@code dir}, for
 * the client's tests. Its log goes to {@code dir/agentd.log} (printed when it fails to come up).
 */
final class AgentdProcess implements AutoCloseable {
    /** The project's top directory (set by the client pom; the module directory's parent otherwise). */
    static final Path ROOT = Path.of(System.getProperty("agentd.project.root", "..")).toAbsolutePath().normalize();
    static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    final Path socket;
    final Path log;
    private final Process process;
    /** Session processes left behind by {@link #kill}, ended by {@link #close}. */
    private java.util.List<ProcessHandle> orphans = java.util.List.of();

    private AgentdProcess(Path socket, Path log, Process process) {
        this.socket = socket;
        this.log = log;
        this.process = process;
    }

    static AgentdProcess start(Path dir) throws IOException, InterruptedException {
        Path socket = dir.resolve("agentd.sock");
        Path log = dir.resolve("agentd.log");
        Process process = new ProcessBuilder(ROOT.resolve("scripts/agentd").toString(), "--listen", "unix:" + socket)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        AgentdProcess agentd = new AgentdProcess(socket, log, process);
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (!Files.exists(socket)) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                agentd.close();
                throw new IllegalStateException("agentd did not come up on " + socket + "; its log:\n"
                        + Files.readString(log));
            }
            Thread.sleep(20);
        }
        return agentd;
    }

    /** Connects, retrying while the socket exists but does not listen yet (agentd binds, then listens). */
    AgentClient connect() throws IOException, TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (true) {
            try {
                return AgentClient.connect(socket, READY_TIMEOUT);
            } catch (java.net.SocketException e) {
                if (System.nanoTime() > deadline || !process.isAlive()) {
                    throw e;
                }
                Thread.sleep(20);
            }
        }
    }

    long pid() {
        return process.pid();
    }

    /**
     * SIGKILL to the daemon alone: its sessions' processes live on (as after a crash) until
     * {@link #close}, so a test sees only what the lost connection does.
     */
    void kill() throws InterruptedException {
        orphans = process.descendants().toList();
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    boolean waitForExit(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                kill();
            }
        }
        orphans.forEach(ProcessHandle::destroyForcibly);
    }
}
