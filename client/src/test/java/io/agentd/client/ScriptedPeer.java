package io.agentd.client;

import io.agentd.client.relay.IdRange;
import io.agentd.client.relay.RelayGreeting;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Ready;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The agent's end of a real unix socket, played frame by frame by a test: it accepts one client,
 * says core.ready with the features the test chooses, and sends and receives single frames. Public
 * for the agentctl commands' tests (io.agentd.client.cli).
 */
public final class ScriptedPeer implements AutoCloseable {
    private static final Duration CONNECT_WAIT = Duration.ofSeconds(10);

    private final Path socket;
    private final ServerSocketChannel server;
    private final FrameEncoder encoder = new FrameEncoder();
    private final FrameDecoder decoder = new FrameDecoder();
    private final ByteBuffer readBuffer = ByteBuffer.allocate(256 * 1024);
    private SocketChannel peer;

    public ScriptedPeer(Path dir) throws IOException {
        socket = dir.resolve("peer.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
    }

    /** Connects a client, accepts it and sends core.ready listing {@code features}. */
    public AgentClient connect(String... features) throws Exception {
        return connect(null, features);
    }

    /**
     * {@link #connect}, first greeting the client as a relay that gives it {@code ids} (a small range
     * shows whether a client frees the ids it no longer uses: it fails once none is left).
     */
    AgentClient connectBehindRelay(IdRange ids, String... features) throws Exception {
        return connect(RelayGreeting.encode(ids), features);
    }

    private AgentClient connect(ByteBuffer greeting, String... features) throws Exception {
        CompletableFuture<AgentClient> client = connectInBackground();
        peer = server.accept();
        if (greeting != null) {
            while (greeting.hasRemaining()) {
                peer.write(greeting);
            }
        }
        send(new Frame(0, MessageType.CORE_READY, new Ready(1, 2, 3, "scripted", List.of(features))));
        return client.get(20, TimeUnit.SECONDS);
    }

    /**
     * Connects a client and answers its first ping instead of saying core.ready (a ready the guest
     * sent while no host was connected is lost): the client is ready with no core.ready.
     */
    public AgentClient connectByPong() throws Exception {
        CompletableFuture<AgentClient> client = connectInBackground();
        peer = server.accept();
        Frame ping = receive(); // after a second without core.ready
        if (ping.type() != MessageType.CORE_PING) {
            throw new IllegalStateException("expected a ping, got " + ping);
        }
        send(new Frame(ping.id(), MessageType.CORE_PONG, io.agentd.protocol.payload.Empty.INSTANCE));
        return client.get(20, TimeUnit.SECONDS);
    }

    /** A client connecting on another thread, while this peer accepts and plays the agent's part. */
    private CompletableFuture<AgentClient> connectInBackground() {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return AgentClient.connect(socket, CONNECT_WAIT);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** The socket a client (agentctl run in-process) connects to itself; then {@link #accept}. */
    public Path socket() {
        return socket;
    }

    /** Accepts a client that connects itself and sends core.ready listing {@code features}. */
    public void accept(String... features) throws IOException {
        peer = server.accept();
        send(new Frame(0, MessageType.CORE_READY, new Ready(1, 2, 3, "scripted", List.of(features))));
    }

    /** Accepts a client that connects itself and sends it {@code ready} (a guest's own choice of fields). */
    public void accept(Ready ready) throws IOException {
        peer = server.accept();
        send(new Frame(0, MessageType.CORE_READY, ready));
    }

    public void send(Frame frame) throws IOException {
        sendRaw(encoder.encode(frame));
    }

    /** Bytes as they are, e.g. the first part of a frame. */
    void sendRaw(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            peer.write(b);
        }
    }

    /** The next frame from the client; blocks until it comes. */
    public Frame receive() throws IOException, io.agentd.protocol.ProtocolException {
        while (true) {
            Frame f = decoder.next();
            if (f != null) {
                return f;
            }
            readBuffer.clear();
            if (peer.read(readBuffer) < 0) {
                throw new IOException("client closed");
            }
            readBuffer.flip();
            decoder.feed(readBuffer);
        }
    }

    /** Stops reading: the client's next write fails (EPIPE) while its reader still sees an open connection. */
    void stopReading() throws IOException {
        peer.shutdownInput();
    }

    /** Hangs up on the client, as an agent that died. */
    void hangUp() throws IOException {
        peer.close();
    }

    @Override
    public void close() throws IOException {
        if (peer != null) {
            peer.close();
        }
        server.close();
    }
}
