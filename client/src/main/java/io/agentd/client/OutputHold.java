package io.agentd.client;

import java.io.IOException;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks the agent to hold one session's output while its caller has too much of it unread, and to
 * let it flow again once the caller has read most of it: the relay flow control notices
 * (docs/PROTOCOL-EXTENSIONS.md, "Relay flow control") for the one id {@code [id, id+1)}. The held
 * output waits in the process's pipe, so a session whose stream nobody reads stops only itself: the
 * connection's reader goes on for every other session and call.
 *
 * <p>Whoever changed how much is unread calls {@link #update} afterwards: the reader thread after
 * queueing output, the caller's thread after reading. Each call decides from the amount as it is
 * then, under this object's lock, and queues the notice in the same lock (the connection's
 * {@link NoticeSender} sends them in that order, never on the caller's thread): the last call always
 * leaves the agent told what the last amount needs. (Deciding outside the lock could send a pause
 * after the caller had already read everything, and nobody would ever send the resume.)
 */
final class OutputHold {
    private static final Logger log = LoggerFactory.getLogger(OutputHold.class);

    /** Sends the notices for one id; the seam between this state machine and the connection. */
    interface Notices {
        /** True while the agent can be asked to hold (its ready listed relay_flow, nobody refused a notice). */
        boolean available();

        /** Queues core.relay.client.paused ({@code hold}) or .resumed for the session's id; returns at once. */
        void send(boolean hold) throws IOException;
    }

    private final long id;
    private final Notices notices;
    /** What the caller has not read yet; read under this object's lock. */
    private final LongSupplier unread;
    private final long holdAt;
    private final long releaseAt;
    /** The last notice sent said "hold". Guarded by this. */
    private boolean held;
    /** The session is over: nothing is sent any more. Guarded by this. */
    private boolean ended;

    /**
     * @param holdAt    unread bytes from which the agent is asked to hold
     * @param releaseAt unread bytes at or below which a held session is released (below
     *                  {@code holdAt}, so that reading a few bytes does not send a notice each)
     */
    OutputHold(long id, Notices notices, LongSupplier unread, long holdAt, long releaseAt) {
        if (releaseAt >= holdAt) {
            throw new IllegalArgumentException("releaseAt " + releaseAt + " must be below holdAt " + holdAt);
        }
        this.id = id;
        this.notices = notices;
        this.unread = unread;
        this.holdAt = holdAt;
        this.releaseAt = releaseAt;
    }

    /** The amount unread has changed: tells the agent to hold or release the output if that changed what is needed. */
    synchronized void update() {
        if (ended) {
            return;
        }
        long now = unread.getAsLong();
        boolean hold = held ? now > releaseAt : now >= holdAt;
        if (hold != held && (!hold || notices.available())) {
            tell(hold);
        }
    }

    /**
     * The session has ended (its exit came, or the connection is gone): a hold still in place is
     * released, so the agent does not keep it for an id this client may use again.
     */
    synchronized void end() {
        if (!ended && held) {
            tell(false);
        }
        ended = true;
    }

    /** Whether the agent was last asked to hold (for tests and logs). */
    synchronized boolean held() {
        return held;
    }

    private void tell(boolean hold) {
        try {
            notices.send(hold);
            held = hold; // unchanged when the send failed: the connection is lost, or the next update retries
            log.debug("session {}: asked the agent to {} its output", id, hold ? "hold" : "release");
        } catch (IOException e) {
            log.debug("session {}: could not ask the agent to {} its output: {}", id, hold ? "hold" : "release",
                    e.getMessage());
        }
    }
}
