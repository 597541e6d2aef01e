package io.agentd.client;

import io.agentd.client.transport.StreamChannel;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end of one connection, whoever ends it (the reader at the end of the stream, close(), a
 * writer that cut a frame): the first cause is kept and no id is registered after it, the channel
 * is closed, a connect still waiting for ready fails, and every session and call still open is
 * failed once with it.
 */
final class ConnectionEnd {
    /** AgentClient's: users' log configurations name the client's lines by it. */
    private static final Logger log = LoggerFactory.getLogger(AgentClient.class);

    private final StreamChannel channel;
    private final String peer;
    private final LiveIds ids;
    private final ControlChannel control;
    private final HoldNotices holdNotices;
    private final AgentLines lines;
    private final CompletableFuture<Void> closed = new CompletableFuture<>();

    ConnectionEnd(StreamChannel channel, String peer, LiveIds ids, ControlChannel control, HoldNotices holdNotices,
            AgentLines lines) {
        this.channel = channel;
        this.peer = peer;
        this.ids = ids;
        this.control = control;
        this.holdNotices = holdNotices;
        this.lines = lines;
    }

    /**
     * Who ends the connection when it ends: "the relay at PEER" once a relay's greeting came (a relay
     * that stops closes it; the agent behind it may be fine), else "the agent at PEER". Clients of a
     * stopped relay were told the agent had closed the connection.
     */
    String otherEnd() {
        return (ids.relayRange() != null ? "the relay at " : "the agent at ") + peer;
    }

    /** True once the connection has ended. */
    boolean isClosed() {
        return closed.isDone();
    }

    /** Waits up to {@code nanos} for the connection's end; false if it is still open. */
    boolean awaitClosed(long nanos) throws InterruptedException {
        try {
            closed.get(nanos, TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            throw new IllegalStateException(e); // never completed exceptionally
        }
    }

    /** Why the connection ended; null while it has not. */
    ConnectionLostException cause() {
        return ids.endCause();
    }

    /** Fails with why the connection ended (a copy, whose cause is the original), once it has. */
    void checkNotEnded() throws ConnectionLostException {
        ids.checkNotEnded();
    }

    /** The connection is over: fail everything still waiting, exactly once. */
    void end(ConnectionLostException why) {
        markLost(why);
        failEverythingWaiting();
        lines.reportNow();
    }

    /**
     * Ends the connection after a failed or cut write; the returned failure is for the writer to
     * throw. A write that failed because the connection had already ended (this client closed it, or
     * the reader saw it break) says why it ended, not what the write saw of it ("null" for a close).
     */
    ConnectionLostException endFromWriter(ConnectionLostException failure) {
        markLost(failure);
        // Not on this thread: it holds the write lock, and failing a session's streams takes their
        // locks and runs callers' code (ends, listeners), which must not wait on a writer. A thread of
        // its own holds nothing.
        Thread failer = new Thread(this::failEverythingWaiting, "agentd-client-end");
        failer.setDaemon(true);
        failer.start();
        ConnectionLostException ended = ids.endCause();
        return ended == failure ? failure : new ConnectionLostException(ended.getMessage(), ended);
    }

    /**
     * Records why the connection ended, if nothing did before, closes the channel and says so
     * ({@link AgentClient#isOpen} false, a connect in progress fails): nothing here runs a caller's
     * code or waits for a lock, so a writer may call it under the write lock.
     */
    private void markLost(ConnectionLostException why) {
        if (!ids.end(why)) {
            return;
        }
        try {
            channel.close();
        } catch (IOException e) {
            log.debug("closing {}", peer, e);
        }
        log.debug("connection to {} ended: {}", peer, why.getMessage());
        closed.complete(null); // first: whoever sees a failure after this also sees isOpen() false (a failed write: before)
        control.connectionEnded(why);
        holdNotices.stop();
    }

    /**
     * Fails every session and call still waiting with the connection's end. Each caller runs it
     * (the reader, close(), a failed write's own thread): a receiver is taken out of the table
     * before it is failed, so each is failed once, and close() returns with all of them failed.
     */
    private void failEverythingWaiting() {
        ids.abortAll(ids.endCause());
    }
}
