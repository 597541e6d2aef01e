package io.agentd.testkit;

import io.agentd.client.AgentClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * How the host reaches the agent of one VM: the socket QEMU's chardev listens on, and the socket the
 * kit's {@link AgentClient} connects to. The one place that knows this, so that putting the host-side
 * relay between them (the client module's relay, started on the chardev socket and listening on the
 * host socket, as scripts/guest/boot does) changes only this class.
 *
 * <p>Today the client connects to QEMU's chardev socket directly: both names are {@code agent.sock}.
 * QEMU's chardev accepts one host at a time, so the VM has one connection, {@link GuestVm#client()}.
 */
final class AgentLink implements AutoCloseable {
    /** sockaddr_un.sun_path holds 108 bytes, the terminating NUL included. */
    static final int MAX_SOCKET_PATH_BYTES = 107;
    /** How often the socket is looked for while QEMU starts. */
    private static final long POLL_MILLIS = 20;

    private final Path chardevSocket;
    private final Path hostSocket;

    private AgentLink(Path chardevSocket, Path hostSocket) {
        this.chardevSocket = chardevSocket;
        this.hostSocket = hostSocket;
    }

    /**
     * The link of the VM whose files are in {@code runDir}.
     *
     * @throws GuestVmException a socket path would be too long for a unix socket
     */
    static AgentLink in(Path runDir) throws GuestVmException {
        Path socket = runDir.resolve("agent.sock");
        if (socket.toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH_BYTES) {
            throw new GuestVmException("the run directory " + runDir + " is too deep: " + socket + " is longer than the "
                    + MAX_SOCKET_PATH_BYTES + " bytes a unix socket path may have; choose a shorter run directory");
        }
        return new AgentLink(socket, socket);
    }

    /** What QEMU's {@code -chardev socket,path=} names. */
    Path chardevSocket() {
        return chardevSocket;
    }

    /** What a host connects to (agentctl --socket, {@link AgentClient#connect}). */
    Path hostSocket() {
        return hostSocket;
    }

    /**
     * Once QEMU runs: waits for the host socket, connects and waits for the agent's core.ready.
     *
     * @throws GuestVmException QEMU exited first, or the connection closed before ready
     * @throws TimeoutException not ready by {@code deadlineNanos} (System.nanoTime)
     */
    AgentClient connect(Process qemu, long deadlineNanos) throws GuestVmException, TimeoutException, InterruptedException {
        while (!Files.exists(hostSocket)) {
            exitedEarly(qemu);
            if (System.nanoTime() > deadlineNanos) {
                throw new TimeoutException(hostSocket + " did not appear");
            }
            Thread.sleep(POLL_MILLIS);
        }
        long left = Math.max(1, deadlineNanos - System.nanoTime());
        try {
            return AgentClient.connect(hostSocket, Duration.ofNanos(left));
        } catch (IOException e) {
            // QEMU closes the socket as it exits: give the exit a moment to be seen, so the error says so.
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

    /** Stops what the link started (nothing yet; the relay, once there is one). */
    @Override
    public void close() {
    }
}
