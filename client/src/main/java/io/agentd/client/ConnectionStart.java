package io.agentd.client;

import io.agentd.client.transport.AgentAddress;
import io.agentd.client.transport.StreamChannel;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * How a connection starts ({@link AgentClient#connect}): its transport's channel is opened, and the
 * agent awaited until it is ready, its core.ready or else a core.pong to the pings sent while none
 * comes; a connection that does not get there is closed.
 */
final class ConnectionStart {
    /** While connecting: how long to wait for core.ready before (and between) probing with a ping. */
    private static final Duration READY_PROBE_INTERVAL = Duration.ofSeconds(1);

    private ConnectionStart() {}

    /** {@link AgentClient#connect(AgentAddress, Duration)}'s connection, ready. */
    static AgentConnection open(AgentAddress address, Duration readyTimeout)
            throws IOException, TimeoutException, InterruptedException {
        long deadline = Timeouts.deadline(readyTimeout);
        StreamChannel channel;
        try {
            channel = address.open(readyTimeout);
        } catch (ClosedByInterruptException e) {
            throw Interrupts.interruptedBy(e, "interrupted while connecting to " + address);
        }
        AgentConnection connection = new AgentConnection(channel, address.toString(), address instanceof AgentAddress.Unix);
        try {
            awaitReady(connection, deadline, readyTimeout);
            return connection;
        } catch (IOException | TimeoutException | InterruptedException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    /** @param timeout what the caller gave, for the message */
    private static void awaitReady(AgentConnection connection, long deadline, Duration timeout)
            throws IOException, TimeoutException, InterruptedException {
        List<CompletableFuture<Frame>> probes = new ArrayList<>();
        try {
            while (true) {
                long left = Timeouts.left(deadline);
                if (left <= 0) {
                    throw new TimeoutException("connected to " + connection.peer + " but the agent was not ready within "
                            + Timeouts.text(timeout)
                            + (connection.anyByteCame() ? "" : "; nothing at all came on the connection (no agent has started"
                                    + " behind it yet, or it is a VM's chardev socket that another client, such as"
                                    + " its relay, holds: QEMU serves one connection at a time)"));
                }
                try {
                    connection.control.awaitReady(Math.min(left, READY_PROBE_INTERVAL.toNanos()));
                    return;
                } catch (TimeoutException e) {
                    CompletableFuture<Frame> pong;
                    try {
                        pong = connection.calls.call(MessageType.CORE_PING, Empty.INSTANCE, deadline);
                    } catch (AgentTimeoutException notSent) {
                        continue; // the peer reads nothing: the deadline above says so
                    }
                    pong.thenRun(connection.control::foundReadyByPing);
                    probes.add(pong);
                } catch (ExecutionException e) {
                    throw ((AgentException) e.getCause()).forCaller();
                }
            }
        } finally {
            probes.forEach(p -> p.cancel(false)); // frees the ids of pings that were never answered
        }
    }
}
