package io.agentd.client;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.FailureKind;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionListResult;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * The requests that make an {@link ExecSession} on a fresh id, an exec.request or a session.attach,
 * each checked first against what the agent offers (a field an agent does not know is ignored, to
 * the caller's harm); and the list of the agent's sessions.
 */
final class SessionRequests {
    private final AgentConnection connection;

    SessionRequests(AgentConnection connection) {
        this.connection = connection;
    }

    /** @param deadline for the request's send, as {@link AgentConnection#send(long, Frame...)} */
    ExecSession start(ExecRequest request, OutputListener listener, int streamCapacity, boolean withoutInput,
            long deadline) throws IOException {
        if (request.profile() != null && !connection.offers(Ready.FEATURE_PROFILE)) {
            // An agent that does not know the field would run the command under its own profile.
            throw new FeatureNotOfferedException(Ready.FEATURE_PROFILE, "the agent does not take a per-request"
                    + " profile (its core.ready does not list \"" + Ready.FEATURE_PROFILE + "\"); the command was not sent");
        }
        if (request.startDetached() && !request.detachable()) {
            throw new IllegalArgumentException("startDetached needs detachable (ExecRequest.withDetachable)");
        }
        if (request.detachable()) {
            // An agent that does not know the field would tie the session to this connection.
            requireSessions("a detachable session; the command was not sent");
        }
        // Asked for only when offered: an agent that does not know the field would never grant credit.
        // Not for a session detached at its start, nor one without input: no stdin data is ever sent on its id.
        boolean flowControl = connection.offers(Ready.FEATURE_STDIN_WINDOW) && !request.startDetached() && !withoutInput;
        ExecRequest sent = request.withStdinWindow(flowControl);
        try {
            return connection.calls.open(id -> {
                ExecSession s = new ExecSession(connection, id, request.tty(), listener, streamCapacity,
                        stdinWindow(flowControl));
                if (request.startDetached()) {
                    s.expectDetachedAtStart();
                }
                if (withoutInput) {
                    s.stdinEndedWithRequest();
                }
                return s;
            }, ExecSession::receiver, s -> {
                Frame requestFrame = new Frame(s.id(), MessageType.EXEC_REQUEST, sent);
                return withoutInput
                        ? new Frame[] {requestFrame, new Frame(s.id(), MessageType.EXEC_STDIN, ExecData.EOF)}
                        : new Frame[] {requestFrame};
            }, deadline);
        } catch (IllegalArgumentException unencodable) {
            // The encoder refused the request's frame (megabytes of arguments or environment), before
            // a byte of it was written and with its id given up (Calls): it fails as one past the
            // agent's own limit fails there, not as agentctl's "internal error".
            throw new ExecFailedException(ExecFailed.of(
                    FailureKind.BAD_ARGS, 7, "E2BIG",
                    "the request was not sent: " + unencodable.getMessage() + " (its command, arguments and environment)",
                    "request"));
        }
    }

    /** {@link AgentClient#attach(long, Long, OutputListener)}. */
    ExecSession attach(long session, Long from, OutputListener listener) throws IOException {
        requireSessions("an attach");
        boolean flowControl = connection.offers(Ready.FEATURE_STDIN_WINDOW);
        return connection.calls.open(
                id -> new ExecSession(connection, id, false, MessageType.SESSION_ATTACH, listener, 0, stdinWindow(flowControl)),
                ExecSession::receiver, attached -> new Frame[] {new Frame(attached.id(), MessageType.SESSION_ATTACH,
                        new SessionAttach(session, from, flowControl))}, Timeouts.NO_DEADLINE);
    }

    /** {@link AgentClient#sessionList}. */
    SessionListResult list(Duration timeout) throws IOException, TimeoutException, InterruptedException {
        requireSessions("the list of sessions");
        Frame reply = connection.calls.callAndAwait(MessageType.SESSION_LIST, timeout, MessageType.SESSION_LIST_RESULT.wire());
        return (SessionListResult) reply.payload();
    }

    private void requireSessions(String what) throws FeatureNotOfferedException {
        if (!connection.offers(Ready.FEATURE_SESSIONS)) {
            throw new FeatureNotOfferedException(Ready.FEATURE_SESSIONS, "the agent does not keep sessions (its core.ready does not list \""
                    + Ready.FEATURE_SESSIONS + "\"): cannot ask for " + what);
        }
    }

    /** The stdin balance of a new session: limited when it asks for flow control. */
    private StdinWindow stdinWindow(boolean flowControl) {
        return flowControl ? StdinWindow.granted(() -> connection.refuseWaitOnReader("stdin credit")) : StdinWindow.unlimited();
    }
}
