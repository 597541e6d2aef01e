package io.agentd.client;

import io.agentd.protocol.Frame;
import java.io.IOException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends one connection's output-hold notices ({@link OutputHold}) on a thread of their own, in the
 * order they were decided. The connection's reader decides most of them, and it must never wait for
 * the write lock: a writer (stdin) may be waiting for a relay to take its bytes, which a relay does
 * only once this connection has read what the relay holds for it, so a reader waiting behind that
 * writer stopped the connection for good. The thread is made at the first notice and ends when idle.
 */
final class NoticeSender {
    private static final Logger log = LoggerFactory.getLogger(NoticeSender.class);
    private static final long IDLE_SECONDS = 5;

    /** Writes one frame to the connection (under its write lock, waiting as long as it takes). */
    @FunctionalInterface
    interface Connection {
        void send(Frame frame) throws IOException;
    }

    private final Connection connection;
    private final ThreadPoolExecutor thread;

    NoticeSender(String peer, Connection connection) {
        this.connection = connection;
        this.thread = new ThreadPoolExecutor(1, 1, IDLE_SECONDS, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                task -> {
                    Thread t = new Thread(task, "agentd-client-notices " + peer);
                    t.setDaemon(true);
                    return t;
                });
        thread.allowCoreThreadTimeOut(true);
    }

    /**
     * Queues {@code notice}, to be sent after those queued before it; returns at once.
     *
     * @throws ConnectionLostException when the connection has ended (nothing more is sent)
     */
    void queue(Frame notice) throws ConnectionLostException {
        try {
            thread.execute(() -> {
                try {
                    connection.send(notice);
                } catch (IOException e) {
                    log.debug("a hold notice was not sent: {}", e.getMessage()); // the connection is lost
                }
            });
        } catch (RejectedExecutionException e) {
            throw new ConnectionLostException("the connection has ended: the notice was not sent", null);
        }
    }

    /** The connection ended: notices queued from now on are refused; one being written fails with it. */
    void stop() {
        thread.shutdown();
    }
}
