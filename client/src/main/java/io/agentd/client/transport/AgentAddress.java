package io.agentd.client.transport;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Where an agent (or a relay in front of one) is reached, as written on agentctl's command line:
 * <ul>
 *   <li>{@code PATH} or {@code unix:PATH}: a unix socket (agentd's own, a relay's, or a QEMU
 *       virtio-serial chardev);
 *   <li>{@code vsock:CID:PORT}: an AF_VSOCK socket (the guest's agent from the host's vhost-vsock,
 *       or CID 1 from inside the guest);
 *   <li>{@code hvsock:UDS_PATH:PORT}: a hybrid vsock, the unix socket Firecracker or Cloud
 *       Hypervisor listen on, with their {@code CONNECT PORT} handshake.
 * </ul>
 * A unix path that itself starts with {@code vsock:} or {@code hvsock:} is written {@code unix:PATH}
 * or {@code ./PATH}.
 */
public sealed interface AgentAddress permits AgentAddress.Unix, AgentAddress.Vsock, AgentAddress.HybridVsock {

    /**
     * Connects; the stream comes back blocking, past any handshake of the transport. A unix connect
     * and hybrid vsock's handshake give up after {@code handshakeTimeout}; vsock's connect after the
     * kernel's own timeout (2 s by default).
     */
    StreamChannel open(Duration handshakeTimeout) throws IOException;

    /** A unix socket. */
    record Unix(Path path) implements AgentAddress {
        @Override
        public StreamChannel open(Duration handshakeTimeout) throws IOException {
            SocketChannel channel;
            try {
                channel = UnixConnect.connect(path, handshakeTimeout);
            } catch (IOException e) {
                throw UnixConnectFailure.of(path, e);
            }
            return new SocketStream(channel);
        }

        @Override
        public String toString() {
            return path.toString();
        }
    }

    /** Port {@code port} of vsock context {@code cid}. */
    record Vsock(long cid, long port) implements AgentAddress {
        public Vsock {
            checkU32("vsock CID", cid);
            checkU32("vsock port", port);
        }

        @Override
        public StreamChannel open(Duration handshakeTimeout) throws IOException {
            return VsockStream.connect(cid, port);
        }

        @Override
        public String toString() {
            return "vsock:" + cid + ":" + port;
        }
    }

    /** Guest port {@code port} through the hybrid vsock unix socket {@code uds}. */
    record HybridVsock(Path uds, long port) implements AgentAddress {
        public HybridVsock {
            checkU32("vsock port", port);
        }

        @Override
        public StreamChannel open(Duration handshakeTimeout) throws IOException {
            return new SocketStream(HybridVsockHandshake.connect(uds, port, handshakeTimeout));
        }

        @Override
        public String toString() {
            return "hvsock:" + uds + ":" + port;
        }
    }

    /**
     * Reads an address in the forms above.
     *
     * @throws IllegalArgumentException for an address that is not well formed (unix: without a path, a bad vsock or hvsock; the
     *                                  message says what is wrong)
     */
    static AgentAddress parse(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("an empty agent address");
        }
        if (text.startsWith("unix:")) {
            if (text.length() == "unix:".length()) {
                throw new IllegalArgumentException("\"unix:\" names no socket: unix:PATH");
            }
            return new Unix(Path.of(text.substring("unix:".length())));
        }
        if (text.startsWith("vsock:")) {
            String[] parts = text.substring("vsock:".length()).split(":", -1);
            if (parts.length != 2) {
                throw new IllegalArgumentException("\"" + text + "\" is not vsock:CID:PORT");
            }
            return new Vsock(u32(text, "CID", parts[0]), u32(text, "PORT", parts[1]));
        }
        if (text.startsWith("hvsock:")) {
            String rest = text.substring("hvsock:".length());
            int colon = rest.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("\"" + text + "\" is not hvsock:UDS_PATH:PORT");
            }
            return new HybridVsock(Path.of(rest.substring(0, colon)), u32(text, "PORT", rest.substring(colon + 1)));
        }
        return new Unix(Path.of(text));
    }

    private static long u32(String text, String what, String digits) {
        if (digits.isEmpty() || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("\"" + text + "\": " + what + " must be a decimal number, not \""
                    + digits + "\"");
        }
        if (digits.length() > 10) { // a number all the same, past any u32 (and past a long's parse)
            throw new IllegalArgumentException("\"" + text + "\": " + what + " " + digits + " is not a u32 (0..4294967295)");
        }
        long value = Long.parseLong(digits);
        checkU32(what, value);
        return value;
    }

    private static void checkU32(String what, long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(what + " " + value + " is not a u32 (0..4294967295)");
        }
    }
}
