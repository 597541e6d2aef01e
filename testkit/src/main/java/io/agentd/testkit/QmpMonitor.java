package io.agentd.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The kit's own QMP monitor of a VM ({@code mon.sock}, a second {@code -qmp} beside the relay's
 * {@code qmp.sock}: QEMU serves one client per monitor, and the relay holds its own for good, while
 * QEMU sends its events to every monitor). One connection per command: the greeting,
 * {@code qmp_capabilities}, the command, its {@code return} (events before it are skipped), closed.
 * QEMU writes one JSON object per line, so a line's start tells a return from an error or an event.
 */
final class QmpMonitor {
    private QmpMonitor() {}

    /**
     * Runs {@code command} (a QMP command without arguments: {@code stop}, {@code cont}) and waits for
     * its return, at most {@code timeout} in all.
     *
     * @throws IOException no monitor at {@code socket}, or QEMU answered with an error (its text the message)
     */
    static void execute(Path socket, String command, Duration timeout)
            throws IOException, TimeoutException, InterruptedException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        CompletableFuture<Void> done = CompletableFuture.runAsync(() -> {
            try {
                channel.connect(UnixDomainSocketAddress.of(socket));
                BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel),
                        StandardCharsets.UTF_8));
                OutputStream out = Channels.newOutputStream(channel);
                expect(in, "{\"QMP\"", "the greeting");
                send(out, "{\"execute\": \"qmp_capabilities\"}");
                expect(in, "{\"return\"", "qmp_capabilities' return");
                send(out, "{\"execute\": \"" + command + "\"}");
                expect(in, "{\"return\"", command + "'s return");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        try {
            done.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof java.io.UncheckedIOException u ? u.getCause() : e.getCause();
            throw new IOException("QMP " + command + " at " + socket + ": " + cause.getMessage(), cause);
        } catch (TimeoutException e) {
            throw new TimeoutException("QMP " + command + " at " + socket + ": no return within " + timeout.toMillis()
                    + " ms");
        } finally {
            channel.close(); // ends a read still waiting
        }
    }

    private static void send(OutputStream out, String line) throws IOException {
        out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Reads lines until one starting {@code start}; an event is skipped, an error or the end is an IOException. */
    private static void expect(BufferedReader in, String start, String what) throws IOException {
        while (true) {
            String line = in.readLine();
            if (line == null) {
                throw new IOException("the monitor closed before " + what);
            }
            String l = line.strip();
            if (l.startsWith(start)) {
                return;
            }
            if (l.startsWith("{\"error\"")) {
                throw new IOException("QEMU answered " + what + " with " + l);
            }
            // an event ({"timestamp": ..., "event": ...}): not what is waited for
        }
    }
}
