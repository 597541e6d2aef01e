package io.agentd.client;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.ExecStdinCredit;
import io.agentd.protocol.payload.ExecStdinError;
import io.agentd.protocol.payload.SessionAttached;
import io.agentd.protocol.payload.SessionDetached;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's frames on one session's id (the session's {@link Receiver}, on the connection's
 * reader thread, in the order the agent sent them): each handed to the part of the session it is
 * for, what started or attached said about the session kept, and the session's end, whether a
 * frame or the connection's end brings it, done in one order.
 */
final class SessionFrames implements Receiver {
    /** ExecSession's: users' log configurations name the session's lines by it. */
    private static final Logger log = LoggerFactory.getLogger(ExecSession.class);

    private final AgentConnection connection;
    private final long id;
    /** What opened the session on this id: exec.request, or session.attach (a core.error about it refuses it). */
    private final MessageType startType;
    private final StartAndExit startAndExit;
    private final SessionOutput output;
    private final StdinWindow stdinWindow;
    private final SessionErrors errors;
    private final SessionDetach detach;
    /** For an attach, what the attached frame says (the attacher did not know). */
    private volatile boolean tty;
    /** The agent-wide session number: from started (detachable requests only) or attached; else null. */
    private volatile Long sessionNumber;
    /** The attached frame of a session opened by {@link AgentClient#attach}; null for an exec. */
    private volatile SessionAttached attached;
    /** The request asked start_detached: started is the agent's only frame on this id. */
    private volatile boolean detachedAtStart;

    SessionFrames(AgentConnection connection, long id, boolean tty, MessageType startType, StartAndExit startAndExit,
            SessionOutput output, StdinWindow stdinWindow, SessionErrors errors, SessionDetach detach) {
        this.connection = connection;
        this.id = id;
        this.tty = tty;
        this.startType = startType;
        this.startAndExit = startAndExit;
        this.output = output;
        this.stdinWindow = stdinWindow;
        this.errors = errors;
        this.detach = detach;
    }

    /** {@link ExecSession#isTty}. */
    boolean tty() {
        return tty;
    }

    /** {@link ExecSession#sessionNumber}. */
    Long sessionNumber() {
        return sessionNumber;
    }

    /** {@link ExecSession#attached}. */
    SessionAttached attached() {
        return attached;
    }

    /** The request asks start_detached (set before it is sent): the session ends here at started. */
    void expectDetachedAtStart() {
        detachedAtStart = true;
    }

    @Override
    public boolean onFrame(Frame frame) {
        switch (frame.type()) {
            case EXEC_STARTED -> {
                ExecStarted s = (ExecStarted) frame.payload();
                sessionNumber = s.session();
                startAndExit.started(s.pid());
                if (detachedAtStart) {
                    // Nothing more comes on this id: the agent keeps the output and exit for an attach.
                    end(null, new AgentException("session " + sessionNumber + " was started detached: its output"
                            + " and exit go to an attach (AgentClient.attach), not to this id"));
                }
            }
            case SESSION_ATTACHED -> {
                SessionAttached a = (SessionAttached) frame.payload();
                tty = a.tty();
                sessionNumber = a.session();
                attached = a;
                startAndExit.started(a.pid());
            }
            case SESSION_DETACHED -> {
                SessionDetached d = (SessionDetached) frame.payload();
                sessionNumber = d.session();
                detach.answered(d);
                end(null, new SessionDetachedException(d));
            }
            case EXEC_STDOUT -> output.deliver(new Output(Output.Stream.STDOUT, ((ExecData) frame.payload()).data()));
            case EXEC_STDERR -> output.deliver(new Output(Output.Stream.STDERR, ((ExecData) frame.payload()).data()));
            case EXEC_STDIN_ERROR -> errors.onStdinError((ExecStdinError) frame.payload());
            case EXEC_STDIN_CREDIT -> stdinWindow.grant(((ExecStdinCredit) frame.payload()).bytes());
            case EXEC_EXITED -> {
                ExecExited e = (ExecExited) frame.payload();
                end(new ExitStatus(e.code(), e.signal(), Boolean.TRUE.equals(e.timedOut()), e.usage()), null);
            }
            case EXEC_FAILED -> end(null, new ExecFailedException((ExecFailed) frame.payload()));
            case CORE_ERROR -> onAgentError(new AgentErrorException((ErrorPayload) frame.payload()));
            default -> {
                if (frame.isTerminal()) {
                    end(null, new AgentException("agent ended session " + id + " with " + frame.type()));
                } else if (connection.takeUnexpectedFrameLine()) {
                    log.warn("session {}: unexpected {} from the agent, ignored", id, frame.type());
                }
            }
        }
        return startAndExit.isDone();
    }

    @Override
    public boolean releasesData() {
        return output.releasesData();
    }

    @Override
    public void onAbort(AgentException cause) {
        end(null, cause);
    }

    /**
     * A core.error about our exec.request or session.attach (or about a frame the agent could not
     * even read) before started (attached) refuses the request itself: the session never was. Any other answers one of our later
     * frames (resize, signal, stdin), possibly before started (the agent sends started once the
     * program runs, and goes on reading meanwhile), and the session goes on.
     */
    private void onAgentError(AgentErrorException error) {
        String about = error.offendingType();
        if (!startAndExit.isStartDone() && (about == null || about.equals(startType.wire()))) {
            end(null, error);
            return;
        }
        if (MessageType.SESSION_DETACH.wire().equals(about) && detach.refused(error)) {
            return; // the session goes on here
        }
        errors.onAgentError(error);
    }

    private void end(ExitStatus status, AgentException failure) {
        stdinWindow.close(failure != null ? failure
                : new AgentException("cannot write stdin: session " + id + " has ended"));
        startAndExit.end(status, failure);
        detach.sessionEnded(failure);
        output.end(failure); // after the exit: whoever reads the end sees the session done
    }
}
