package io.agentd.bench;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Connecting to qemu-ga (a baseline, not our agent, so not the tests' fixture), which is still
 * starting: try again every 0.2 ms until it listens.
 */
final class Unix {
    private Unix() {}

    static SocketChannel connectWhenListening(Path socket, Process server, long timeoutMillis) throws Exception {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        IOException last = null;
        while (System.nanoTime() < deadline) {
            if (!server.isAlive()) {
                throw new IOException("server exited with " + server.exitValue() + " before listening on " + socket);
            }
            if (Files.exists(socket)) {
                try {
                    return SocketChannel.open(UnixDomainSocketAddress.of(socket));
                } catch (IOException e) {
                    last = e; // bound but not yet listening
                }
            }
            Thread.sleep(0, 200_000);
        }
        throw new IOException("nothing listening on " + socket + " after " + timeoutMillis + " ms", last);
    }
}
