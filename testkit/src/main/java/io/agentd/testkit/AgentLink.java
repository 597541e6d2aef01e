package io.agentd.testkit;

import io.agentd.client.AgentClient;
import io.agentd.client.relay.Relay;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * How the host reaches the agent of one VM, as scripts/guest/boot arranges it: QEMU's chardev listens
 * on {@code port.sock} and takes one client, an in-process {@link Relay} is that client and serves
 * {@code agent.sock}, where up to 128 clients (the kit's own {@link AgentClient}, other threads'
 * clients, agentctl processes) share the VM at once. The relay also reads QEMU's QMP socket,
 * {@code qmp.sock}, to learn when the guest closes the port (an agent that dies mid-frame) and when
 * QEMU resumes the VM (it then sets the guest's clock; see {@link Relay#start(Path, Path, Duration, Path)}).
 * The kit has a QMP monitor of its own, {@code mon.sock}. The one place that knows this.
 */
final class AgentLink implements AutoCloseable {
    /**
     * The longest unix socket path the JDK binds or connects (sun_path's 108 bytes less the NUL and
     * one more byte the JDK keeps): QEMU would take a 107-byte path, the relay and the client not.
     */
    static final int MAX_SOCKET_PATH_BYTES = 106;
    /** How often the socket is looked for while QEMU starts. */
    private static final long POLL_MILLIS = 20;
    /** How long one start of the relay retries a port socket that exists but refuses (QEMU not listening yet). */
    private static final Duration PORT_TRY = Duration.ofMillis(200);

    private final Path chardevSocket;
    private final Path hostSocket;
    private final Path qmpSocket;
    private final Path monitorSocket;
    private volatile Relay relay;

    private AgentLink(Path chardevSocket, Path hostSocket, Path qmpSocket, Path monitorSocket) {
        this.chardevSocket = chardevSocket;
        this.hostSocket = hostSocket;
        this.qmpSocket = qmpSocket;
        this.monitorSocket = monitorSocket;
    }

    /**
     * The link of the VM whose files are in {@code runDir}.
     *
     * @throws GuestVmException a socket path would be too long for a unix socket
     */
    static AgentLink in(Path runDir) throws GuestVmException {
        Path port = runDir.resolve("port.sock");
        Path socket = runDir.resolve("agent.sock");
        Path qmp = runDir.resolve("qmp.sock");
        Path monitor = runDir.resolve("mon.sock");
        for (Path p : new Path[] {port, socket, qmp, monitor}) {
            if (p.toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH_BYTES) {
                throw new GuestVmException("the run directory " + runDir + " is too deep: " + p + " is longer than the "
                        + MAX_SOCKET_PATH_BYTES + " bytes a unix socket path may have; choose a shorter run directory");
            }
        }
        return new AgentLink(port, socket, qmp, monitor);
    }

    /** What QEMU's {@code -chardev socket,path=} names: the relay's one connection. */
    Path chardevSocket() {
        return chardevSocket;
    }

    /** What QEMU's {@code -qmp unix:} names: the relay reads the port's open and close there. */
    Path qmpSocket() {
        return qmpSocket;
    }

    /**
     * The kit's own QMP monitor ({@link QemuCommand#kitMonitor}): QEMU serves one client per monitor,
     * and the relay holds {@link #qmpSocket} for good; the kit stops and resumes the VM here
     * ({@link QmpMonitor}), and QEMU sends the events to both.
     */
    Path monitorSocket() {
        return monitorSocket;
    }

    /** What a host connects to (agentctl --socket, {@link AgentClient#connect}): the relay's socket. */
    Path hostSocket() {
        return hostSocket;
    }

    /** The clients connected to the relay now (0 before {@link #connect} and after {@link #close}). */
    int clientCount() {
        Relay r = relay;
        return r == null || !r.isRunning() ? 0 : r.clientCount();
    }

    /**
     * Once QEMU runs: waits for its chardev socket, starts the relay on it, connects the kit's client
     * to the relay and waits for the agent's core.ready.
     *
     * @throws GuestVmException QEMU exited first, the relay could not start, or the connection closed before ready
     * @throws TimeoutException not ready by {@code deadlineNanos} (System.nanoTime)
     */
    AgentClient connect(Process qemu, long deadlineNanos) throws GuestVmException, TimeoutException, InterruptedException {
        while (!Files.exists(chardevSocket)) {
            exitedEarly(qemu);
            if (System.nanoTime() > deadlineNanos) {
                throw new TimeoutException(chardevSocket + " did not appear");
            }
            Thread.sleep(POLL_MILLIS);
        }
        // QEMU binds the socket before it listens, and a QEMU that dies (KVM refused) leaves it behind:
        // short tries, each followed by a look at QEMU, so that its exit is seen at once.
        while (relay == null) {
            try {
                relay = Relay.start(chardevSocket, hostSocket, PORT_TRY, qmpSocket);
            } catch (IOException e) {
                exitedEarly(qemu);
                if (System.nanoTime() > deadlineNanos) {
                    throw new GuestVmException("cannot start the relay on " + chardevSocket + ": " + e.getMessage(), e);
                }
                // An interrupt closes the relay's port channel (ClosedByInterruptException, an
                // IOException) and stays set: without a wait here the loop would spin to the deadline.
                Thread.sleep(POLL_MILLIS);
            }
        }
        long left = Math.max(1, deadlineNanos - System.nanoTime());
        try {
            // In whole milliseconds: the client's message quotes the timeout as given (39698128692ns).
            return AgentClient.connect(hostSocket, Duration.ofMillis(TimeUnit.NANOSECONDS.toMillis(left) + 1));
        } catch (IOException e) {
            // QEMU closes the socket as it exits (and the relay its clients): give the exit a moment to
            // be seen, so the error says so.
            qemu.waitFor(1, TimeUnit.SECONDS);
            exitedEarly(qemu);
            throw new GuestVmException("the connection to " + hostSocket + " ended before the agent was ready: "
                    + e.getMessage(), e);
        }
    }

    private static void exitedEarly(Process qemu) throws GuestVmException, InterruptedException {
        if (!qemu.isAlive()) {
            throw new GuestVmException("QEMU exited with status " + qemu.waitFor() + " before the agent was ready");
        }
    }

    /** Stops the relay (every client's connection closes, agent.sock is removed); idempotent. */
    @Override
    public void close() throws InterruptedException {
        Relay r = relay;
        relay = null;
        if (r != null) {
            r.close();
        }
    }
}
