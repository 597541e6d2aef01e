package io.agentd.bench;

import io.agentd.client.AgentClient;
import io.agentd.client.ExecFailedException;
import io.agentd.client.ExecSession;
import io.agentd.client.ExitStatus;
import io.agentd.client.Output;
import io.agentd.client.OutputListener;
import io.agentd.protocol.payload.ExecRequest;
import java.io.IOException;
import java.time.Duration;

/**
 * The benchmarks' one view of the host client library (io.agentd.client): connect, exec, stdin,
 * signal, ping. Every call into the client is in this file, so an API change touches only it.
 */
final class AgentLink implements AutoCloseable {
    /** No single wait in a benchmark should take longer; a hang becomes an error, not a stuck run. */
    static final Duration WAIT = Duration.ofSeconds(120);

    /**
     * Receives output bytes on the client's reader thread; must not block, and must not keep
     * {@code data} after it returns (the client reads later frames into the same array).
     */
    @FunctionalInterface
    interface Sink {
        Sink DISCARD = (b, off, len) -> { };

        void accept(byte[] data, int off, int len);
    }

    private final AgentClient client;
    private final long readyAtNanos;

    private AgentLink(AgentClient client, long readyAtNanos) {
        this.client = client;
        this.readyAtNanos = readyAtNanos;
    }

    /** Connects as soon as the agent listens and returns once its core.ready has arrived. */
    static AgentLink connect(AgentProcess agent) throws Exception {
        AgentClient client = agent.connect(socket -> AgentClient.connect(socket, WAIT));
        return new AgentLink(client, System.nanoTime());
    }

    /** Connects to an agent, or a relay in front of one, at {@code socket}, and waits for its core.ready. */
    static AgentLink connect(java.nio.file.Path socket) throws Exception {
        AgentClient client = AgentClient.connect(socket, WAIT);
        return new AgentLink(client, System.nanoTime());
    }

    /** System.nanoTime() when core.ready was seen. */
    long readyAtNanos() {
        return readyAtNanos;
    }

    /** Starts a session; returns at once (started and exited arrive later). */
    Session exec(ExecRequest request, Sink stdout, Sink stderr) throws IOException {
        ExecSession s = client.start(request, new OutputListener() {
            @Override
            public void onOutput(Output output) {
                byte[] data = output.data();
                (output.stream() == Output.Stream.STDOUT ? stdout : stderr).accept(data, 0, data.length);
            }

            @Override
            public boolean keepsData() {
                return false; // a Sink keeps nothing (its contract): the client may reuse the arrays
            }
        });
        return new Session(s);
    }

    /**
     * The failure kind's wire name (e.g. {@code resource_limit}) when {@code e} is the agent's
     * core.exec.failed for a start; null for any other failure.
     */
    static String execFailureKind(Exception e) {
        return e instanceof ExecFailedException failed ? failed.kindWire() : null;
    }

    /** One core.ping -> core.pong round trip, in nanoseconds. */
    long pingNanos() throws Exception {
        return pingNanos(WAIT);
    }

    /** The same, waiting up to {@code timeout} for the pong. */
    long pingNanos(Duration timeout) throws Exception {
        long t0 = System.nanoTime();
        client.ping(timeout);
        return System.nanoTime() - t0;
    }

    @Override
    public void close() throws IOException {
        client.close();
    }

    /** A running session. */
    static final class Session {
        private final ExecSession session;

        private Session(ExecSession session) {
            this.session = session;
        }

        long awaitStarted() throws Exception {
            return session.awaitStarted(WAIT);
        }

        /** The exit code (128 + signal for a signal death); a failed start or a hang throws. */
        int awaitExit() throws Exception {
            return awaitExit(WAIT.toNanos());
        }

        int awaitExit(long timeoutNanos) throws Exception {
            ExitStatus status = session.awaitExit(Duration.ofNanos(timeoutNanos));
            return status.code();
        }

        void stdin(byte[] data) throws IOException {
            session.writeStdin(data);
        }

        void signal(int signal) throws IOException {
            session.signal(signal);
        }
    }
}
