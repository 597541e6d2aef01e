package io.agentd.client;

import io.agentd.protocol.payload.ExecStdinError;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the agent reported about one running session's frames without ending it
 * ({@link ExecSession#errors}, {@link ExecSession#stdinNotDelivered}): the core.errors that refused
 * one of them, and the stdin errors, each logged and told to the session's listener.
 */
final class SessionErrors {
    /** ExecSession's: users' log configurations name the session's lines by it. */
    private static final Logger log = LoggerFactory.getLogger(ExecSession.class);

    private final long id;
    /** Told of each; null unless the session was started with one. */
    private final OutputListener listener;
    /** Closed at the first stdin error: the agent refuses the session's later input. */
    private final StdinWindow stdinWindow;
    private final List<AgentErrorException> errors = new CopyOnWriteArrayList<>();
    private final AtomicLong errorsNotKept = new AtomicLong();
    private volatile ExecStdinError lastStdinError;
    private volatile StdinNotDeliveredException stdinNotDelivered;

    SessionErrors(long id, OutputListener listener, StdinWindow stdinWindow) {
        this.id = id;
        this.listener = listener;
        this.stdinWindow = stdinWindow;
    }

    /** A core.error that refused one of the session's frames, on the reader thread. */
    void onAgentError(AgentErrorException error) {
        log.debug("session {}: {}", id, error.getMessage());
        if (errors.size() < ExecSession.ERRORS_KEPT) { // only the reader thread adds
            errors.add(error);
        } else {
            errorsNotKept.incrementAndGet();
        }
        if (listener != null) {
            ListenerSink.tell(id, listener, OutputListener::onAgentError, error);
        }
    }

    /** A core.exec.stdin.error, on the reader thread. */
    void onStdinError(ExecStdinError error) {
        lastStdinError = error;
        if (stdinNotDelivered == null) {
            // the agent refuses every later frame of this session too: fail the writers now
            stdinNotDelivered = new StdinNotDeliveredException(id, error);
            stdinWindow.close(stdinNotDelivered);
        }
        log.debug("session {}: agent could not write stdin: {} {}", id, error.errnoName(), error.message());
        if (listener != null) {
            ListenerSink.tell(id, listener, OutputListener::onStdinError, error);
        }
    }

    /** {@link ExecSession#errors}. */
    List<AgentErrorException> errors() {
        return List.copyOf(errors);
    }

    /** {@link ExecSession#errorsNotKept}. */
    long errorsNotKept() {
        return errorsNotKept.get();
    }

    /** {@link ExecSession#stdinError}. */
    ExecStdinError lastStdinError() {
        return lastStdinError;
    }

    /** {@link ExecSession#stdinNotDelivered}. */
    StdinNotDeliveredException stdinNotDelivered() {
        return stdinNotDelivered;
    }
}
