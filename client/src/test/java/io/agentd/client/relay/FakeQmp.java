package io.agentd.client.relay;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * QEMU's QMP socket as a test plays it: one client, the greeting line, {@code {"return": {}}} to its
 * qmp_capabilities, then the events the test sends ({@link #portChanged}, {@link #runState}).
 */
final class FakeQmp implements AutoCloseable {
    private final ServerSocketChannel server;
    final Path path;
    private final CompletableFuture<SocketChannel> negotiated = new CompletableFuture<>();

    private FakeQmp(ServerSocketChannel server, Path path) {
        this.server = server;
        this.path = path;
    }

    static FakeQmp start(Path path) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        FakeQmp qmp = new FakeQmp(server, path);
        Thread t = new Thread(qmp::serve, "fake-qmp");
        t.setDaemon(true);
        t.start();
        return qmp;
    }

    private void serve() {
        try {
            SocketChannel c = server.accept();
            send(c, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 8}, \"package\": \"\"},"
                    + " \"capabilities\": [\"oob\"]}}");
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
            String line = in.readLine();
            if (line == null || !line.replace(" ", "").contains("\"execute\":\"qmp_capabilities\"")) {
                throw new IOException("expected qmp_capabilities, got " + line);
            }
            send(c, "{\"return\": {}}");
            negotiated.complete(c);
        } catch (IOException e) {
            negotiated.completeExceptionally(e);
        }
    }

    private static void send(SocketChannel c, String line) throws IOException {
        ByteBuffer b = ByteBuffer.wrap((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    /** Waits until the relay has connected and negotiated capabilities. */
    void awaitNegotiated(Duration wait) throws Exception {
        negotiated.get(wait.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** VSERPORT_CHANGE for device {@code id}, stamped now, as QEMU sends it; after an unrelated event, as QEMU may send those too. */
    void portChanged(String id, boolean open) throws Exception {
        portChanged(id, open, QemuClock.nowMicros());
    }

    /** {@link #portChanged(String, boolean)} stamped {@code atMicros}: an event QEMU emitted then and sends only now. */
    void portChanged(String id, boolean open, long atMicros) throws Exception {
        SocketChannel c = negotiated.get(10, TimeUnit.SECONDS);
        String stamp = "{\"seconds\": " + atMicros / 1_000_000 + ", \"microseconds\": " + atMicros % 1_000_000 + "}";
        send(c, "{\"timestamp\": " + stamp + ", \"event\": \"RTC_CHANGE\", \"data\": {\"offset\": 0}}");
        send(c, "{\"timestamp\": " + stamp + ", \"event\": \"VSERPORT_CHANGE\","
                + " \"data\": {\"open\": " + open + ", \"id\": \"" + id + "\"}}");
    }

    /** QEMU's events for {@code stop}, or for {@code cont}: STOP or RESUME, stamped now. */
    void runState(boolean running) throws Exception {
        SocketChannel c = negotiated.get(10, TimeUnit.SECONDS);
        long at = QemuClock.nowMicros();
        send(c, "{\"timestamp\": {\"seconds\": " + at / 1_000_000 + ", \"microseconds\": " + at % 1_000_000 + "},"
                + " \"event\": \"" + (running ? "RESUME" : "STOP") + "\"}");
    }

    /** QEMU's end as a guest powers off: the SHUTDOWN event, then QMP's connection closed. */
    void shutDown() throws Exception {
        SocketChannel c = negotiated.get(10, TimeUnit.SECONDS);
        send(c, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 0}, \"event\": \"SHUTDOWN\","
                + " \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}");
        c.close();
    }

    /** QMP's connection closed with no event before it (QEMU killed, or the socket's other end gone). */
    void dropConnection() throws Exception {
        negotiated.get(10, TimeUnit.SECONDS).close();
    }

    @Override
    public void close() throws IOException {
        server.close();
        if (negotiated.isDone() && !negotiated.isCompletedExceptionally()) {
            negotiated.join().close();
        }
    }
}
