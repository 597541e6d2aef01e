package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The kit's QMP monitor client ({@link GuestVm#pause}, {@link GuestVm#resume}) against QEMU as a test plays it. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class QmpMonitorTest {
    @TempDir
    Path tmp;

    /** A monitor that answers each command with {@code answer} (after an event), recording the lines it got. */
    private static CompletableFuture<List<String>> monitor(ServerSocketChannel server, String answer) {
        return CompletableFuture.supplyAsync(() -> {
            List<String> got = new CopyOnWriteArrayList<>();
            try (SocketChannel c = server.accept()) {
                OutputStream out = Channels.newOutputStream(c);
                BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
                out.write("{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}\r\n".getBytes(StandardCharsets.UTF_8));
                got.add(in.readLine());
                out.write("{\"return\": {}}\r\n".getBytes(StandardCharsets.UTF_8));
                got.add(in.readLine());
                out.write(("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESUME\"}\r\n" + answer
                        + "\r\n").getBytes(StandardCharsets.UTF_8));
                in.readLine(); // the client's close
            } catch (IOException e) {
                // the client closed: what it sent is in got
            }
            return got;
        });
    }

    private ServerSocketChannel server() throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(tmp.resolve("mon.sock")));
        return server;
    }

    @Test
    void aCommandIsSentAfterTheCapabilitiesAndItsReturnAwaitedPastAnEvent() throws Exception {
        try (ServerSocketChannel server = server()) {
            CompletableFuture<List<String>> got = monitor(server, "{\"return\": {}}");
            QmpMonitor.execute(tmp.resolve("mon.sock"), "stop", Duration.ofSeconds(10));
            assertEquals(List.of("{\"execute\": \"qmp_capabilities\"}", "{\"execute\": \"stop\"}"),
                    got.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void qemusErrorIsAnIOException() throws Exception {
        try (ServerSocketChannel server = server()) {
            monitor(server, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}");
            IOException e = assertThrows(IOException.class,
                    () -> QmpMonitor.execute(tmp.resolve("mon.sock"), "cont", Duration.ofSeconds(10)));
            assertTrue(e.getMessage().contains("GenericError") && e.getMessage().contains("cont"), e.getMessage());
        }
    }

    @Test
    void noMonitorIsAnIOExceptionAndSilenceATimeout() throws Exception {
        assertThrows(IOException.class, () -> QmpMonitor.execute(tmp.resolve("none.sock"), "stop", Duration.ofSeconds(5)));
        try (ServerSocketChannel server = server()) { // accepts (its backlog) and says nothing
            TimeoutException e = assertThrows(TimeoutException.class,
                    () -> QmpMonitor.execute(tmp.resolve("mon.sock"), "stop", Duration.ofMillis(300)));
            assertTrue(e.getMessage().contains("no return within 300 ms"), e.getMessage());
        }
    }
}
