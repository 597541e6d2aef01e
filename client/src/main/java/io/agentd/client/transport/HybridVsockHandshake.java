package io.agentd.client.transport;

import io.agentd.client.Timeouts;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * The host side of a hybrid vsock (Firecracker's and Cloud Hypervisor's virtio-vsock, whose host end
 * is a unix socket, docs/vsock.md of Firecracker): connect to the unix socket, send
 * {@code CONNECT PORT\n}, and the VMM answers {@code OK HOST_PORT\n} once the guest accepted on PORT;
 * after that line the stream is the guest's. Anything else, or the VMM closing (no listener on that
 * port), is an error that quotes what came back.
 */
final class HybridVsockHandshake {
    /** Longer than any "OK <u32>" line: a peer that sends more without a newline is not a VMM. */
    static final int MAX_REPLY = 64;
    private static final Pattern OK = Pattern.compile("OK [0-9]{1,10}");

    private HybridVsockHandshake() {}

    /** Connects and completes the handshake within {@code timeout}, both together; the channel comes back blocking. */
    static SocketChannel connect(Path uds, long port, Duration timeout) throws IOException {
        String peer = "hvsock:" + uds + ":" + port;
        long deadline = Timeouts.deadline(timeout);
        SocketChannel channel = UnixConnect.connect(uds, timeout);
        try {
            ByteBuffer request = ByteBuffer.wrap(("CONNECT " + port + "\n").getBytes(StandardCharsets.US_ASCII));
            while (request.hasRemaining()) {
                channel.write(request);
            }
            String reply = readLine(channel, peer, timeout, deadline);
            if (!OK.matcher(reply).matches()) {
                throw new IOException(peer + ": the VMM answered CONNECT " + port + " with \"" + printable(reply)
                        + "\", not \"OK <port>\"");
            }
            return channel;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /**
     * Reads the reply line a byte at a time: the guest's first bytes may follow the newline in the
     * same segment, and they belong to the client.
     */
    private static String readLine(SocketChannel channel, String peer, Duration timeout, long deadline)
            throws IOException {
        byte[] line = new byte[MAX_REPLY];
        int fill = 0;
        ByteBuffer one = ByteBuffer.allocate(1);
        channel.configureBlocking(false);
        try (Selector selector = Selector.open()) {
            channel.register(selector, SelectionKey.OP_READ);
            while (true) {
                one.clear();
                int n = channel.read(one);
                if (n < 0) {
                    throw new IOException(peer + ": the VMM closed the connection after CONNECT"
                            + (fill == 0 ? " without an answer (does the guest listen on that port?)"
                                    : ", having sent only \"" + printable(text(line, fill)) + "\""));
                }
                if (n == 0) {
                    if (Thread.currentThread().isInterrupted()) {
                        // select() returns at once while the flag is set: waiting on would spin to the
                        // deadline (for ever without one); the caller makes it an InterruptedException
                        throw new ClosedByInterruptException();
                    }
                    long left = Timeouts.left(deadline);
                    if (left <= 0) {
                        throw new IOException(peer + ": no answer to CONNECT within " + timeout.toMillis() + " ms"
                                + (fill == 0 ? "" : " (got \"" + printable(text(line, fill)) + "\")"));
                    }
                    selector.select(Math.max(1, left / 1_000_000));
                    selector.selectedKeys().clear();
                    continue;
                }
                byte b = one.get(0);
                if (b == '\n') {
                    return text(line, fill);
                }
                if (fill == MAX_REPLY) {
                    throw new IOException(peer + ": the VMM's answer to CONNECT is longer than " + MAX_REPLY
                            + " bytes without a newline: \"" + printable(text(line, fill)) + "...\"");
                }
                line[fill++] = b;
            }
        } finally {
            channel.configureBlocking(true);
        }
    }

    /**
     * The bytes as one char each, of the same value: ISO-8859-1, not ASCII, which would turn every
     * byte above 0x7f into U+FFFD, and {@link #printable} would then quote them all as \xfd.
     */
    private static String text(byte[] line, int fill) {
        return new String(line, 0, fill, StandardCharsets.ISO_8859_1);
    }

    /** What came back, with control and non-ASCII bytes escaped (it goes into one message line). */
    static String printable(String s) {
        StringBuilder out = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
                out.append(c);
            } else {
                out.append(String.format("\\x%02x", (int) c & 0xff));
            }
        }
        return out.toString();
    }
}
