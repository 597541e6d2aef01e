package io.agentd.bench;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/** Connecting to a server that is still starting: try again every 0.2 ms until it listens. */
final class Unix {
    /** One connection attempt; an IOException means "not listening yet". */
    @FunctionalInterface
    interface Connector<T> {
        T connect(Path socket) throws Exception;
    }

    private Unix() {}

    static SocketChannel connectWhenListening(Path socket, Process server, long timeoutMillis) throws Exception {
        return connectWhenListening(socket, server, timeoutMillis, s -> SocketChannel.open(UnixDomainSocketAddress.of(s)));
    }

    static <T> T connectWhenListening(Path socket, Process server, long timeoutMillis, Connector<T> connector)
            throws Exception {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        IOException last = null;
        while (System.nanoTime() < deadline) {
            if (!server.isAlive()) {
                throw new IOException("server exited with " + server.exitValue() + " before listening on " + socket);
            }
            if (Files.exists(socket)) {
                try {
                    return connector.connect(socket);
                } catch (IOException e) {
                    last = e; // bound but not yet listening
                }
            }
            Thread.sleep(0, 200_000);
        }
        throw new IOException("nothing listening on " + socket + " after " + timeoutMillis + " ms", last);
    }
}
