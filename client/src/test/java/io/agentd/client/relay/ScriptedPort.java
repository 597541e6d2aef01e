package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.Ready;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A relay started on a port socket whose other end the test plays as the agent ({@link #agent}),
 * as QEMU's chardev socket would carry it; clients connect to {@link #relay}'s socket.
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
        Path port = dir.resolve("port.sock");
        ServerSocketChannel portServer = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        portServer.bind(UnixDomainSocketAddress.of(port));
        CompletableFuture<RawClient> accepted = CompletableFuture.supplyAsync(() -> {
            try {
                return new RawClient(portServer.accept());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        Relay relay = Relay.start(port, dir.resolve("relay.sock"), wait);
        return new ScriptedPort(portServer, accepted.get(10, TimeUnit.SECONDS), relay, wait);
    }

    /** {@link #start}, then the agent says {@code ready} and the relay has it (cached for new clients). */
    static ScriptedPort startReady(Path dir, Duration wait, Ready ready) throws Exception {
        ScriptedPort port = start(dir, wait);
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
        assertEquals(new Frame(RelayLoop.PROBE_ID, MessageType.CORE_PING, Empty.INSTANCE), probe);
        agent.send(new Frame(RelayLoop.PROBE_ID, MessageType.CORE_PONG, Empty.INSTANCE));
    }

    /** A client connected once the agent's ready is cached: the relay pings, the agent answers, the ready comes. */
    RawClient readyClient() throws Exception {
        relay.awaitAgentReady(wait); // the relay has it: a client that comes now is probed for
        RawClient c = greetedClient();
        answerProbe();
        assertEquals(MessageType.CORE_READY, c.receive().type());
        return c;
    }

    @Override
    public void close() throws Exception {
        relay.close();
        agent.close();
        portServer.close();
    }
}
