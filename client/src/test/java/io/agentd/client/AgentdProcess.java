package io.agentd.client;

import io.agentd.testsupport.RunningAgent;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real agentd for the client's tests: the shared fixture ({@link RunningAgent}, scripts/agentd on a
 * unix socket in {@code dir}) with {@link AgentClient} connections. Its log goes to
 * {@code dir/agentd.log} (quoted when it fails to come up).
 */
final class AgentdProcess implements AutoCloseable {
    /** The project's top directory (set by the client pom; the module directory's parent otherwise). */
    static final Path ROOT = Path.of(System.getProperty("agentd.project.root", "..")).toAbsolutePath().normalize();
    static final Duration READY_TIMEOUT = RunningAgent.START_TIMEOUT;

    final Path socket;
    final Path log;
    private final RunningAgent agent;
    /** Session processes left behind by {@link #kill}, ended by {@link #close}. */
    private List<ProcessHandle> orphans = List.of();

    private AgentdProcess(RunningAgent agent) {
        this.agent = agent;
        this.socket = agent.socket();
        this.log = agent.log();
    }

    static AgentdProcess start(Path dir) throws IOException, InterruptedException {
        AgentdProcess agentd = new AgentdProcess(RunningAgent.listening(ROOT.resolve("scripts/agentd"),
                dir.resolve("agentd.sock"), List.of(), Map.of(), dir.resolve("agentd.log")));
        try {
            agentd.agent.awaitSocket();
        } catch (IOException | InterruptedException e) {
            agentd.close();
            throw e;
        }
        return agentd;
    }

    /** Connects once the agent listens (the fixture waits for it). */
    AgentClient connect() throws IOException, TimeoutException, InterruptedException {
        try {
            return agent.connect(s -> AgentClient.connect(s, READY_TIMEOUT));
        } catch (IOException | TimeoutException | InterruptedException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    long pid() {
        return agent.pid();
    }

    boolean isAlive() {
        return agent.isAlive();
    }

    /**
     * SIGKILL to the daemon alone: its sessions' processes live on (as after a crash) until
     * {@link #close}, so a test sees only what the lost connection does.
     */
    void kill() throws InterruptedException {
        orphans = agent.process().descendants().toList();
        agent.process().destroyForcibly();
        agent.process().waitFor(10, TimeUnit.SECONDS);
    }

    boolean waitForExit(Duration timeout) throws InterruptedException {
        return agent.waitForExit(timeout);
    }

    @Override
    public void close() throws InterruptedException {
        if (agent.isAlive()) {
            agent.process().destroy();
            if (!agent.waitForExit(Duration.ofSeconds(10))) {
                kill();
            }
        }
        orphans.forEach(ProcessHandle::destroyForcibly);
    }
}
