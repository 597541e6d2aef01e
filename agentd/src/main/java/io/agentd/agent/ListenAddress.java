package io.agentd.agent;

import java.nio.file.Path;

/** A socket the agent listens on ({@code --listen}, repeatable): a unix socket path or a vsock port. */
public sealed interface ListenAddress {
    /** {@code unix:PATH} */
    record Unix(Path path) implements ListenAddress {
        @Override
        public String toString() {
            return "unix:" + path;
        }
    }

    /** {@code vsock:PORT}: any CID the guest has (VMADDR_CID_ANY), this port. */
    record Vsock(long port) implements ListenAddress {
        @Override
        public String toString() {
            return "vsock:" + port;
        }
    }

    /** The highest port a vsock socket can be bound to (0xFFFFFFFF is VMADDR_PORT_ANY). */
    long VSOCK_PORT_MAX = 0xFFFF_FFFEL;

    /** {@code unix:PATH} or {@code vsock:PORT}; null for anything else. */
    static ListenAddress parse(String value) {
        if (value.startsWith("unix:") && value.length() > "unix:".length()) {
            return new Unix(Path.of(value.substring("unix:".length())));
        }
        if (value.startsWith("vsock:") && value.substring("vsock:".length()).matches("\\d{1,10}")) {
            long port = Long.parseLong(value.substring("vsock:".length()));
            return port <= VSOCK_PORT_MAX ? new Vsock(port) : null;
        }
        return null;
    }
}
