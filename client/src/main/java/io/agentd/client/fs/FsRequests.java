package io.agentd.client.fs;

import io.agentd.client.AgentException;
import io.agentd.client.Timeouts;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;

/**
 * How one {@link GuestFiles} view asks the agent: each request on a fresh id with the view's user
 * and the extension fields the agent takes, its send and the wait for its answer each within the
 * view's timeout, a handle that comes after its caller gave up closed aside, and a close the agent
 * refused as busy asked again. Shared by the view and its streams.
 */
final class FsRequests {
    /** GuestFiles': users' log configurations name the view's lines by it. */
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(GuestFiles.class);
    /** The agent's answer to a request it refused at once, as busy (its fs requests at their limit). */
    static final int EAGAIN = 11;
    /** How long a request refused as busy waits before it is asked again. */
    private static final long BUSY_RETRY_MILLIS = 20;

    private final FsTransport transport;
    private final String user;
    private final Duration timeout;

    FsRequests(FsTransport transport, String user, Duration timeout) {
        this.transport = transport;
        this.user = user;
        this.timeout = timeout;
    }

    FsTransport transport() {
        return transport;
    }

    /** {@link GuestFiles#timeout()}. */
    Duration timeout() {
        return timeout;
    }

    /** {@link GuestFiles#user()}. */
    String user() {
        return user;
    }

    /** Starts a request on a fresh id with this view's user and the extension fields the agent takes. */
    FsId start(FsOp op, FsListener listener) throws IOException {
        return start(op, listener, sendDeadline());
    }

    /** {@link #start(FsOp, FsListener)} whose send gives up at {@code sendDeadline} ({@link Timeouts#NO_DEADLINE}: never). */
    FsId start(FsOp op, FsListener listener, long sendDeadline) throws IOException {
        transport.refuseWaitHere("the agent's answer to " + op.variant()); // before anything is sent
        boolean ext = transport.extensions();
        if (user != null && !ext) {
            throw new AgentException("the agent does not run file operations as another user (its core.ready does"
                    + " not list \"fs_ext\"); nothing was sent");
        }
        return new FsId(transport, transport.start(new FsRequest(op, user, ext), listener, sendDeadline), listener);
    }

    /**
     * When a send of this view gives up on an agent that reads nothing: a request's send and the
     * wait for its answer each have the whole {@link #timeout()}.
     */
    long sendDeadline() {
        return Timeouts.deadline(timeout);
    }

    /** Runs {@code op} and returns its successful response; a failure about {@code path} is thrown. */
    FsResponse call(FsOp op, String path) throws IOException {
        return call(op, path, false, sendDeadline());
    }

    /**
     * @param closeLateHandle see {@link #open}
     * @param sendDeadline    see {@link #start(FsOp, FsListener, long)}
     */
    private FsResponse call(FsOp op, String path, boolean closeLateHandle, long sendDeadline) throws IOException {
        FsCall c = new FsCall();
        FsId id = start(op, c, sendDeadline);
        Runnable giveUp = closeLateHandle ? () -> c.response.thenAccept(late -> closeLate(late, path)) : id::retire;
        FsResponse r = FsCall.await(c.response, timeout, op.variant() + " " + path, giveUp);
        if (!r.ok()) {
            throw GuestFileException.of(path, r);
        }
        return r;
    }

    /**
     * An OpenDir or a read-only OpenFile, as {@link #call}, but a caller that gives up (timeout,
     * interrupt) leaves the id waiting for the answer rather than retiring it: a handle that comes
     * late is closed then (its CloseHandle's answer ignored), from a thread of its own. Retired, a
     * late handle stayed open in the agent for the connection's life, one of the 1024 it allows. An
     * agent that never answers keeps that id. Not for a write open (see {@link GuestFiles#openWrite}).
     */
    FsResponse open(FsOp op, String path) throws IOException {
        return call(op, path, true, sendDeadline());
    }

    /** Comes on the reader thread: a handle that came after its caller gave up is closed aside. */
    private void closeLate(FsResponse late, String path) {
        if (late.ok() && late.data() instanceof FsResponseData.Handle h) {
            closeAside(h.handle(), path);
        }
    }

    /**
     * Closes {@code handle} from a thread of its own, nobody waiting for it: for the reader (which
     * must not wait for the write lock: a writer may hold it waiting for the agent, which may wait
     * for the reader) and for a caller that failed and must not wait for a hung agent. Without a
     * send deadline, and asked again when the agent is busy (as every close): given up, the handle
     * would stay open for the connection's life, one of the 1024 the agent allows.
     */
    void closeAside(long handle, String path) {
        Thread closer = new Thread(() -> {
            try {
                closeHandle(handle, path, Timeouts.NO_DEADLINE);
            } catch (IOException | RuntimeException e) {
                log.debug("closing handle {} of {} aside: {}", handle, path, e.toString());
            }
        }, "agentd-fs-close");
        closer.setDaemon(true);
        closer.start();
    }

    void closeHandle(long handle, String path) throws IOException {
        closeHandle(handle, path, sendDeadline());
    }

    /** {@link #closeHandle(long, String)} whose send gives up at {@code sendDeadline}. */
    void closeHandle(long handle, String path, long sendDeadline) throws IOException {
        // A close refused at once as busy did not run: asked again, within the view's timeout, or
        // the handle (and an atomic upload's temporary file) stayed for the connection's life.
        long giveUpAt = System.nanoTime() + timeout().toNanos();
        while (true) {
            try {
                call(new FsOp.CloseHandle(handle), path, false, sendDeadline);
                return;
            } catch (GuestFileException e) {
                if (e.errno() != EAGAIN || System.nanoTime() - giveUpAt > 0) {
                    throw e;
                }
            }
            pauseBeforeRetry(path);
        }
    }

    /** The wait before a request the agent refused as busy is asked again. */
    static void pauseBeforeRetry(String path) throws InterruptedIOException {
        try {
            Thread.sleep(BUSY_RETRY_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while the agent was busy with " + path);
        }
    }
}
