package io.agentd.client;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.SessionDetached;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * One session's detach ({@link ExecSession#detach}): the question, asked once while nobody is
 * waiting for an answer, that answer (the agent's core.session.detached, its refusal, after which a
 * later detach asks again, or the session's end first), and the caller's wait for it.
 */
final class SessionDetach {
    private final long id;
    private final AgentConnection connection;
    private final StartAndExit startAndExit;
    /**
     * The answer to the detach asked, made when it is asked (an error about a detach nobody asked is
     * not its); null while none is asked. Changed under this object's lock.
     */
    private volatile CompletableFuture<SessionDetached> asked;

    SessionDetach(long id, AgentConnection connection, StartAndExit startAndExit) {
        this.id = id;
        this.connection = connection;
        this.startAndExit = startAndExit;
    }

    /** {@link ExecSession#detach}: asks (unless a detach is waiting for its answer already) and waits for the answer. */
    SessionDetached askAndWait(Duration timeout) throws AgentException, TimeoutException, InterruptedException {
        if (!connection.offers(Ready.FEATURE_SESSION_DETACH)) {
            throw new UnsupportedOperationException("the agent does not detach sessions (its core.ready does not"
                    + " list \"" + Ready.FEATURE_SESSION_DETACH + "\")");
        }
        connection.refuseWaitOnReader("session " + id + "'s detach"); // before it is sent, as every wait
        long deadline = Timeouts.deadline(timeout);
        CompletableFuture<SessionDetached> answer;
        try {
            answer = ask(deadline);
        } catch (InterruptedIOException e) {
            throw Interrupts.interruptedBy(e, "session " + id + ": interrupted before its detach was sent;"
                    + " nothing was sent");
        }
        try {
            return startAndExit.await(answer, Duration.ofNanos(Timeouts.left(deadline)), "detached");
        } catch (AgentTimeoutException notSent) {
            throw notSent.asTimeoutException("session " + id + ": no detached within " + Timeouts.text(timeout) + ": ");
        } catch (TimeoutException e) {
            throw new TimeoutException("session " + id + ": no detached within " + Timeouts.text(timeout));
        }
    }

    /**
     * The answer to wait for: the detach already asked, or else one asked now, sent by
     * {@code deadline}. One that sent nothing lets a later detach ask again.
     *
     * @throws AgentException          the session has ended
     * @throws InterruptedIOException the asking thread was interrupted before anything was sent
     *                                (others waiting for the same answer are told to ask again)
     */
    private CompletableFuture<SessionDetached> ask(long deadline) throws AgentException, InterruptedIOException {
        CompletableFuture<SessionDetached> answer;
        boolean ask = false;
        synchronized (this) {
            if (asked == null) {
                startAndExit.ensureLive("detach");
                asked = new CompletableFuture<>();
                ask = true;
            }
            answer = asked;
        }
        if (ask) {
            send(answer, deadline); // not under the monitor: the send may wait for the agent to read
        }
        return answer;
    }

    private void send(CompletableFuture<SessionDetached> answer, long deadline) throws InterruptedIOException {
        // asked is set before this second look at the exit, and the session's end completes the exit
        // before it looks at asked: a session ending now is seen by one side or the other, never by neither.
        if (startAndExit.isDone()) {
            answer.completeExceptionally(new AgentException("cannot detach: session " + id + " has ended"));
            return;
        }
        try {
            connection.send(deadline, new Frame(id, MessageType.SESSION_DETACH, Empty.INSTANCE));
        } catch (AgentTimeoutException e) {
            forget(answer);
            answer.completeExceptionally(e);
        } catch (AgentException e) {
            answer.completeExceptionally(e);
        } catch (InterruptedIOException e) {
            forget(answer); // nothing was sent: a later detach asks
            answer.completeExceptionally(new AgentException("session " + id + ": the detach was not sent"
                    + " (the thread asking was interrupted); ask again", e));
            throw e;
        } catch (IOException e) {
            answer.completeExceptionally(new AgentException("cannot detach session " + id, e));
        }
    }

    private synchronized void forget(CompletableFuture<SessionDetached> answer) {
        if (asked == answer) {
            asked = null;
        }
    }

    /** The agent's core.session.detached (the session ends here next). */
    void answered(SessionDetached detached) {
        CompletableFuture<SessionDetached> answer = asked;
        if (answer != null) {
            answer.complete(detached);
        }
    }

    /**
     * The agent refused the detach asked (perhaps for the moment): a later detach asks again. The
     * question is forgotten before its caller is woken with the refusal, so that a caller asking
     * again at once sends a new one rather than meeting this refusal a second time. False when no
     * detach was waiting for an answer (the error is about something else).
     */
    boolean refused(AgentErrorException error) {
        CompletableFuture<SessionDetached> answer;
        synchronized (this) {
            answer = asked;
            if (answer == null || answer.isDone()) {
                return false;
            }
            asked = null;
        }
        return answer.completeExceptionally(error);
    }

    /** The session ended, with {@code failure} (null: it exited): a detach still waiting fails, unless it was this detach. */
    void sessionEnded(AgentException failure) {
        CompletableFuture<SessionDetached> answer = asked;
        if (answer != null && !(failure instanceof SessionDetachedException)) {
            answer.completeExceptionally(failure != null ? failure
                    : new AgentException("session " + id + " exited before it was detached"));
        }
    }
}
