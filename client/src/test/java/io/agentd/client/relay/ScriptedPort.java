package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.RelayClientRange;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A relay started on a port socket whose other end the test plays as the agent ({@link #agent}),
 * as QEMU's chardev socket would carry it; clients connect to {@link #relay}'s socket. The agent's
 * {@link RawClient#receive} sets aside the core.clock.sync the relay sends after each core.ready
 * (and at QEMU's RESUME): {@link RawClient#clockSyncs} has them.
 */
final class ScriptedPort implements AutoCloseable {
    private final ServerSocketChannel portServer;
    final RawClient agent;
    final Relay relay;
    private final Duration wait;

    private ScriptedPort(ServerSocketChannel portServer, RawClient agent, Relay relay, Duration wait) {
        this.portServer = portServer;
        this.agent = agent;
        this.relay = relay;
        this.wait = wait;
    }

    /** The relay on {@code dir}/port.sock, listening on {@code dir}/relay.sock, its port accepted. */
    static ScriptedPort start(Path dir, Duration wait) throws Exception {
        return start(dir, wait, null);
    }

    /** {@link #start(Path, Duration)}, the relay also watching QEMU's QMP socket {@code qmp} (null: none). */
    static ScriptedPort start(Path dir, Duration wait, Path qmp) throws Exception {
        return start(dir, wait, qmp, FlowControl.QUEUE_BUDGET);
    }

    /** {@link #start(Path, Duration, Path)} with a budget for the clients' queues of its own. */
    static ScriptedPort start(Path dir, Duration wait, Path qmp, long queueBudget) throws Exception {
        return start(dir, wait, qmp, queueBudget, Duration.ofNanos(PartialFramesBudget.PARTIAL_FRAME_STALL_NANOS));
    }

    /** {@link #start(Path, Duration, Path, long)} with a time for a client to move a large frame on of its own. */
    static ScriptedPort start(Path dir, Duration wait, Path qmp, long queueBudget, Duration partialFrameStall)
            throws Exception {
        ScriptedPort scripted = startUnanswered(dir, wait, qmp, queueBudget, partialFrameStall);
        scripted.agent.send(new Frame(scripted.startBarrier, MessageType.CORE_PONG, Empty.INSTANCE));
        return scripted;
    }

    /** The ping the relay sent after its start's notices ({@link #startUnanswered}). */
    long startBarrier;

    /**
     * The relay started, the 128 notices and the ping after them received, the ping not answered
     * yet: until it is, the relay gives no client a frame on a slot's ids.
     */
    static ScriptedPort startUnanswered(Path dir, Duration wait, Path qmp) throws Exception {
        return startUnanswered(dir, wait, qmp, FlowControl.QUEUE_BUDGET,
                Duration.ofNanos(PartialFramesBudget.PARTIAL_FRAME_STALL_NANOS));
    }

    private static ScriptedPort startUnanswered(Path dir, Duration wait, Path qmp, long queueBudget,
            Duration partialFrameStall) throws Exception {
        Path port = dir.resolve("port.sock");
        ServerSocketChannel portServer = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        portServer.bind(UnixDomainSocketAddress.of(port));
        CompletableFuture<RawClient> accepted = CompletableFuture.supplyAsync(() -> {
            try {
                return new RawClient(portServer.accept(), true);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        Relay relay = Relay.start(port, dir.resolve("relay.sock"), wait, qmp, queueBudget, partialFrameStall);
        ScriptedPort scripted = new ScriptedPort(portServer, accepted.get(10, TimeUnit.SECONDS), relay, wait);
        scripted.receiveEveryRangeLeft();
        Frame ping = scripted.agent.receive();
        assertEquals(MessageType.CORE_PING, ping.type(), "the ping after the notices: " + ping);
        assertTrue(SlotPool.isBarrierId(ping.id()), "on a barrier id, in no client's range: " + ping);
        scripted.startBarrier = ping.id();
        return scripted;
    }

    /**
     * What a relay says first, before any client: every range of ids has left, so that an agent still
     * running sessions of an earlier relay's clients ends them before their ids are given out again.
     */
    private void receiveEveryRangeLeft() throws Exception {
        for (int k = 0; k < IdRange.SLOTS; k++) {
            IdRange range = IdRange.slot(k);
            assertEquals(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED,
                    new RelayClientRange(range.start(), range.endExclusive())), agent.receive(), "slot " + k);
        }
    }

    /** {@link #start}, then the agent says {@code ready} and the relay has it (cached for new clients). */
    static ScriptedPort startReady(Path dir, Duration wait, Ready ready) throws Exception {
        return startReady(dir, wait, ready, FlowControl.QUEUE_BUDGET);
    }

    static ScriptedPort startReady(Path dir, Duration wait, Ready ready, long queueBudget) throws Exception {
        return startReady(dir, wait, ready, queueBudget, Duration.ofNanos(PartialFramesBudget.PARTIAL_FRAME_STALL_NANOS));
    }

    /** {@link #startReady(Path, Duration, Ready, long)} with a time for a client to move a large frame on of its own. */
    static ScriptedPort startReady(Path dir, Duration wait, Ready ready, long queueBudget, Duration partialFrameStall)
            throws Exception {
        ScriptedPort port = start(dir, wait, null, queueBudget, partialFrameStall);
        port.agent.send(new Frame(0, MessageType.CORE_READY, ready));
        port.relay.awaitAgentReady(wait);
        return port;
    }

    /** A client that has read the relay's greeting (its id range). */
    RawClient greetedClient() throws Exception {
        RawClient c = RawClient.connect(relay.listenPath());
        c.readGreeting();
        return c;
    }

    /** The agent's side of the relay's probe: the ping on the probe id, answered. */
    void answerProbe() throws Exception {
        Frame probe = agent.receive();
        assertEquals(new Frame(AgentFrameRouter.PROBE_ID, MessageType.CORE_PING, Empty.INSTANCE), probe);
        agent.send(new Frame(AgentFrameRouter.PROBE_ID, MessageType.CORE_PONG, Empty.INSTANCE));
    }

    /**
     * The agent's side of a client's departure: the notice with the client's range, then the
     * relay's ping on the id after that range, whose answer would free the slot (left unanswered).
     */
    void receiveDeparture(IdRange range) throws Exception {
        assertEquals(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED,
                new RelayClientRange(range.start(), range.endExclusive())), agent.receive());
        assertEquals(new Frame(range.endExclusive(), MessageType.CORE_PING, Empty.INSTANCE), agent.receive());
    }

    /**
     * From now on the agent answers every core.ping it gets, on its id, from another thread, until
     * the port closes (the test sends it nothing more itself); returns the ids pinged, as they come.
     */
    List<Long> answerPingsFromNowOn() {
        List<Long> pinged = new CopyOnWriteArrayList<>();
        CompletableFuture.runAsync(() -> {
            try {
                while (true) {
                    Frame f = agent.receive();
                    if (f.type() == MessageType.CORE_PING) {
                        pinged.add(f.id());
                        agent.send(new Frame(f.id(), MessageType.CORE_PONG, Empty.INSTANCE));
                    }
                }
            } catch (Exception e) {
                // the port closed: the test is over
            }
        });
        return pinged;
    }

    /** A client connected once the agent's ready is cached: the relay pings, the agent answers, the ready comes. */
    RawClient readyClient() throws Exception {
        relay.awaitAgentReady(wait); // the relay has it: a client that comes now is probed for
        RawClient c = greetedClient();
        answerProbe();
        assertEquals(MessageType.CORE_READY, c.receive().type());
        return c;
    }

    /** The agent writes {@code batch} over and over, reading nothing, until {@code bytes} went (the relay read them all). */
    void floodFromAgent(ByteBuffer batch, long bytes) throws IOException {
        SocketChannel channel = agent.channel();
        for (long written = 0; written < bytes; ) {
            batch.clear();
            while (batch.hasRemaining()) {
                written += channel.write(batch);
            }
        }
    }

    /** What the relay queued for the agent: the bytes the agent then reads until none came for a second. */
    long drainAtAgent() throws IOException, InterruptedException {
        SocketChannel channel = agent.channel();
        channel.configureBlocking(false);
        ByteBuffer in = ByteBuffer.allocateDirect(1 << 20);
        long queued = 0;
        long idleSince = System.nanoTime();
        while (System.nanoTime() - idleSince < TimeUnit.MILLISECONDS.toNanos(1000)) {
            in.clear();
            int n = channel.read(in);
            if (n > 0) {
                queued += n;
                idleSince = System.nanoTime();
            } else {
                Thread.sleep(10);
            }
        }
        return queued;
    }

    @Override
    public void close() throws Exception {
        relay.close();
        agent.close();
        portServer.close();
    }
}
