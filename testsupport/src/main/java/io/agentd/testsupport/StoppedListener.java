package io.agentd.testsupport;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A unix socket as a stopped agent, relay or VMM leaves it: a listener that never accepts, with its
 * backlog full, so that a blocking connect(2) to it would wait for room with no limit.
 */
public final class StoppedListener implements AutoCloseable {
    /** A backlog of one takes a few connections at most; this many means it never filled. */
    private static final int MAX_QUEUED = 100;

    private final ServerSocketChannel server;
    private final List<SocketChannel> queued = new ArrayList<>();

    private StoppedListener(ServerSocketChannel server) {
        this.server = server;
    }

    /** Binds {@code socket} with a backlog of one and fills that backlog. */
    public static StoppedListener at(Path socket) throws IOException {
        StoppedListener stopped = new StoppedListener(ServerSocketChannel.open(StandardProtocolFamily.UNIX));
        try {
            stopped.server.bind(UnixDomainSocketAddress.of(socket), 1);
            stopped.fillBacklog(socket);
        } catch (IOException | RuntimeException e) {
            stopped.close();
            throw e;
        }
        return stopped;
    }

    /** Connects without blocking until the backlog refuses one more (EAGAIN). */
    private void fillBacklog(Path socket) throws IOException {
        while (true) {
            if (queued.size() >= MAX_QUEUED) {
                throw new IllegalStateException("the backlog of " + socket + " never filled (" + queued.size()
                        + " connections queued)");
            }
            SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
            c.configureBlocking(false);
            try {
                c.connect(UnixDomainSocketAddress.of(socket));
                queued.add(c);
            } catch (IOException full) {
                c.close();
                return;
            }
        }
    }

    @Override
    public void close() throws IOException {
        for (SocketChannel c : queued) {
            c.close();
        }
        server.close();
    }
}
