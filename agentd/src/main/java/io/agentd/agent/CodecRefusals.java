package io.agentd.agent;

import io.agentd.agent.session.SessionHost;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.ProtocolException;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.FailureKind;

/**
 * A frame the link's codec refused ({@link io.agentd.agent.transport.PortLink.Listener#onProtocolError}):
 * what the host is told (core.error, or failed bad_args for an exec.request past the request
 * limits), and which of the connection's families (its sessions, its fs requests) hears that what
 * it was sent may be lost. Static, on the connection it is given. Loop thread only.
 */
final class CodecRefusals {
    private CodecRefusals() {
    }

    static void refused(Connection c, ProtocolException e) {
        if (e.kind() == ErrorKind.LIMIT_EXCEEDED) {
            refuseOverLimit(c, e);
        } else if (e.kind().losesStream()) {
            // One line, through the refusal log and its rate limit: a host sending garbage can
            // lose the stream on every read.
            c.link().refuse(Protocol.CONTROL_ID, e.kind().replyKind(), e.type(),
                    e.getMessage() + " (" + e.kind().wire() + "; the input held was discarded)");
            inputLost(c);
        } else {
            c.link().refuse(e.hasId() ? e.id() : Protocol.CONTROL_ID, e.kind().replyKind(), e.type(), e.getMessage());
        }
        tellOwnerOfRefusal(c, e);
    }

    /**
     * The link skipped a frame unread, whose id is unknown (a port goes on past it; a socket is
     * dropped after this, and its host's Writes fail then anyway): every data stream of this host
     * may have lost a frame, so none goes on as if nothing had come. Writes in progress fail, and
     * each session's later stdin is refused.
     */
    private static void inputLost(Connection c) {
        if (c.fs != null) {
            c.fs.inputLost();
        }
        c.sessions.onInputLost(c.sessionHost());
    }

    /**
     * A refused data frame on an id: what it carried is unknown, so what it belonged to cannot go
     * on as if it had not come: a Write there fails (FsService#refusedByCodec), a session's later
     * stdin is refused (Sessions#onStdinRefusedByCodec).
     */
    private static void tellOwnerOfRefusal(Connection c, ProtocolException e) {
        if (!e.hasId() || e.id() == Protocol.CONTROL_ID) {
            return;
        }
        if (c.fs != null
                && (MessageType.FS_DATA.wire().equals(e.type()) || MessageType.FS_REQUEST.wire().equals(e.type()))) {
            c.fs.refusedByCodec(e.id(), e.type());
        } else if (MessageType.EXEC_STDIN.wire().equals(e.type())) {
            c.sessions.onStdinRefusedByCodec(c.sessionHost(), e.id());
        }
    }

    /**
     * A request past the request limits was refused by the codec before anything was copied. An
     * exec.request is answered like any request the agent cannot run: failed bad_args, which ends
     * that id. On the id of a running session, or of an fs request in progress, that would read as
     * its end, so there (and for any other frame) it is a core.error, which leaves it alone.
     */
    private static void refuseOverLimit(Connection c, ProtocolException e) {
        boolean execRequest = MessageType.EXEC_REQUEST.wire().equals(e.type());
        SessionHost host = c.sessionHost();
        if (execRequest && e.hasId() && e.id() != Protocol.CONTROL_ID && !c.sessions.isRunning(host, e.id())
                && (c.fs == null || !c.fs.inProgress(e.id()))) {
            c.link().refuseRequest(e.id(), ExecFailed.of(FailureKind.BAD_ARGS, null, null, e.getMessage(), null));
            return;
        }
        c.link().refuse(e.hasId() ? e.id() : Protocol.CONTROL_ID, ErrorKind.INVALID_PAYLOAD, e.type(), e.getMessage());
    }
}
