package io.agentd.client.relay;

import io.agentd.client.transport.UnixConnect;
import io.agentd.protocol.payload.Ready;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A relay that lets up to {@value IdRange#SLOTS} clients share one agent connection: the only client
 * of a VM's virtio-serial chardev socket (or of any stream to an agent), and a server on a unix
 * socket of its own. Each client gets a range of ids ({@link IdRange}), greeted with
 * {@link RelayGreeting} and the agent's core.ready; frames go through by their headers (length, id),
 * each to the client that owns its id. {@code agentctl relay} runs one; a test starts one in-process:
 *
 * <pre>{@code
 * try (Relay relay = Relay.start(portSocket, listenSocket)) {
 *     relay.awaitAgentReady(Duration.ofSeconds(30));
 *     AgentClient client = AgentClient.connect(relay.listenPath(), timeout);
 * }
 * }</pre>
 *
 * What it refuses and why, and what a client that does not read costs the others, is in
 * docs/DESIGN.md ("Relay").
 */
public final class Relay implements AutoCloseable {
    /** How long {@link #start(Path, Path)} waits for the port socket to appear and accept. */
    public static final Duration DEFAULT_PORT_WAIT = Duration.ofSeconds(30);
    private static final long PORT_RETRY_MILLIS = 50;

    /**
     * How a relay ended.
     *
     * @param portLost the VM's port went away
     * @param failed   the relay itself failed (an error in its thread): not a stop anyone asked for
     */
    public record Ending(String reason, boolean portLost, boolean failed) {
        public Ending(String reason, boolean portLost) {
            this(reason, portLost, false);
        }
    }

    private final Path listenPath;
    private final RelayLoop loop;
    private final Thread thread;
    /** The QMP watch ({@link #start(Path, Path, Duration, Path)}), or null. */
    private volatile QmpPortWatch qmp;

    private Relay(Path listenPath, RelayLoop loop) {
        this.listenPath = listenPath;
        this.loop = loop;
        this.thread = new Thread(loop, "agentd-relay " + listenPath.getFileName());
        this.thread.setDaemon(true);
    }

    /** {@link #start(Path, Path, Duration)} waiting {@link #DEFAULT_PORT_WAIT} for the port. */
    public static Relay start(Path portSocket, Path listenSocket) throws IOException, InterruptedException {
        return start(portSocket, listenSocket, DEFAULT_PORT_WAIT);
    }

    /**
     * Connects to {@code portSocket} (retrying until it exists and accepts, at most {@code portWait}:
     * QEMU creates it as it starts), then listens on {@code listenSocket} and serves in a thread of
     * its own. Returns once clients may connect; the agent need not be ready yet (a client that comes
     * early gets its greeting at once and the core.ready when it comes).
     */
    public static Relay start(Path portSocket, Path listenSocket, Duration portWait)
            throws IOException, InterruptedException {
        return start(portSocket, listenSocket, portWait, null);
    }

    /**
     * {@link #start(Path, Path, Duration)}, and with {@code qmpSocket} (QEMU's {@code -qmp unix:PATH}; null:
     * none) the relay also learns from QEMU when the guest closes the agent's port (the
     * virtserialport with {@code id=agent-port}): an agent that dies in the middle of a frame then
     * costs that frame and its client, not the stream; and when QEMU resumes the VM (QMP's RESUME,
     * after {@code stop} and {@code cont}, a snapshot's load), whose clock stood still meanwhile: the
     * agent is then sent core.clock.sync with the host's time, as it is after each of its core.ready
     * with or without QMP. A QMP socket that cannot be reached or closes is logged and the relay goes
     * on without it, as it does without one.
     */
    public static Relay start(Path portSocket, Path listenSocket, Duration portWait, Path qmpSocket)
            throws IOException, InterruptedException {
        return start(portSocket, listenSocket, portWait, qmpSocket, FlowControl.QUEUE_BUDGET);
    }

    /** {@link #start(Path, Path, Duration, Path)} with another budget for the clients' queues (tests). */
    static Relay start(Path portSocket, Path listenSocket, Duration portWait, Path qmpSocket, long queueBudget)
            throws IOException, InterruptedException {
        return start(portSocket, listenSocket, portWait, qmpSocket, queueBudget,
                Duration.ofNanos(PartialFramesBudget.PARTIAL_FRAME_STALL_NANOS));
    }

    /**
     * {@link #start(Path, Path, Duration, Path)} with another budget for the clients' queues, and
     * another time for a client to move a large frame on ({@link PartialFramesBudget#PARTIAL_FRAME_STALL_NANOS}) (tests).
     */
    static Relay start(Path portSocket, Path listenSocket, Duration portWait, Path qmpSocket, long queueBudget,
            Duration partialFrameStall) throws IOException, InterruptedException {
        SocketChannel port = connectPort(portSocket, portWait);
        ListenSocket listen;
        try {
            listen = ListenSocket.open(listenSocket);
        } catch (IOException | RuntimeException e) {
            port.close();
            throw e;
        }
        RelayLoop loop;
        try {
            loop = new RelayLoop(port, listen, portSocket.toString(), queueBudget, partialFrameStall.toNanos());
        } catch (IOException | RuntimeException e) {
            port.close();
            listen.close(); // and its lock: a relay started again in this process must find it free
            throw e;
        }
        Relay relay = new Relay(listen.path(), loop);
        relay.thread.start();
        if (qmpSocket != null) {
            QmpPortWatch watch = QmpPortWatch.start(qmpSocket, QmpPortWatch.PORT_DEVICE_ID, relay.loop::guestClosedPort,
                    relay.loop::vmResumed);
            relay.qmp = watch;
            relay.loop.ending().thenRun(watch::close); // the watch ends with the relay
        }
        return relay;
    }

    private static SocketChannel connectPort(Path portSocket, Duration wait) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            long left = Math.max(deadline - System.nanoTime(), TimeUnit.MILLISECONDS.toNanos(PORT_RETRY_MILLIS));
            try {
                return UnixConnect.connect(portSocket, Duration.ofNanos(left));
            } catch (UnixConnect.TimedOut e) {
                throw new IOException("no connection to the port socket: " + e.getMessage()
                        + " (or another relay holds the VM's port: QEMU takes one connection at a time)", e);
            } catch (SocketException e) {
                // Not there yet (ENOENT), or QEMU bound it but does not listen yet (ECONNREFUSED):
                // wait; anything else (EACCES) will not pass by waiting.
                boolean notYet = e instanceof ConnectException || !Files.exists(portSocket);
                if (!notYet) {
                    throw new IOException("cannot connect to the port socket " + portSocket + ": " + e.getMessage(), e);
                }
                // A plain file or a directory refuses too (ECONNREFUSED), but will never become a socket.
                if (Files.exists(portSocket, LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(portSocket)
                        && !ListenSocket.isSocket(portSocket)) {
                    throw new IOException(portSocket + " is not a socket (a VM's port is the unix socket of its"
                            + " chardev); not waiting for it", e);
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new IOException("no port socket to connect to at " + portSocket + " within " + wait.toMillis()
                            + " ms (" + (Files.exists(portSocket) ? "it refuses connections" : "it does not exist")
                            + "; is the VM running?)", e);
                }
                Thread.sleep(PORT_RETRY_MILLIS);
            } catch (IOException | RuntimeException e) {
                throw new IOException("cannot connect to the port socket " + portSocket + ": " + e.getMessage(), e);
            }
        }
    }

    /** The relay's own socket: where clients connect. */
    public Path listenPath() {
        return listenPath;
    }

    /**
     * The agent's core.ready (the latest one), waiting for it if none came yet.
     *
     * @throws TimeoutException none within {@code timeout}
     * @throws IOException      the relay ended first (its reason is the message)
     */
    public Ready awaitAgentReady(Duration timeout) throws IOException, TimeoutException, InterruptedException {
        CompletableFuture<Object> either = CompletableFuture.anyOf(loop.firstReady(), loop.ending());
        try {
            either.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e); // neither completes exceptionally
        }
        Ready ready = loop.latestReady();
        if (ready == null) {
            throw new IOException("the relay ended before the agent was ready: " + loop.ending().getNow(null).reason());
        }
        return ready;
    }

    /** Waits until the relay has ended (the port went away, or {@link #close}); null on timeout. */
    public Ending awaitEnd(Duration timeout) throws InterruptedException {
        try {
            return loop.ending().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return null;
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The clients connected now. */
    public int clientCount() {
        return loop.clientCount();
    }

    /** Bytes the relay moved from the port to clients by splice, without reading them (tests). */
    long splicedBytes() {
        return loop.splicedBytes();
    }

    /** Frames of the agent for a departed client's ids, dropped before the agent confirmed the departure (tests). */
    long framesForDeparted() {
        return loop.framesForDeparted();
    }

    public boolean isRunning() {
        return !loop.ending().isDone();
    }

    /** Stops: every client is closed, the listen socket removed, the port connection closed. */
    @Override
    public void close() throws InterruptedException {
        QmpPortWatch watch = qmp;
        if (watch != null) {
            watch.close();
        }
        loop.stop();
        thread.join(TimeUnit.SECONDS.toMillis(10));
    }
}
