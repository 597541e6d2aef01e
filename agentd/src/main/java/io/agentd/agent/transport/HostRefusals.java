package io.agentd.agent.transport;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecStdinError;

/**
 * What a link's host is told when the agent refuses something it sent, and the line the operator's
 * log gets for it (never the payload; at the shared rates of {@link HostEventLog}): a refused frame
 * is answered with core.error on its id, undelivered stdin with core.exec.stdin.error, and a request
 * the codec refused with exec.failed. Static, on the {@link PortLink} it is given. Loop thread only.
 */
final class HostRefusals {
    private HostRefusals() {
    }

    /** Answers a frame the agent cannot use with core.error on its id, and logs it. */
    static void refuse(PortLink link, long id, ErrorKind kind, String offendingType, String message) {
        link.hostEvents().refused(link.who(), id, offendingType, kind.wire(), message);
        sendRefusal(link, id, kind, offendingType, message);
    }

    /** As {@link #refuse}, for a frame that crossed its session's end (see {@link HostOutput#refuseRace}). */
    static void refuseRace(PortLink link, long id, ErrorKind kind, String offendingType, String message) {
        link.hostEvents().racedRefusal(link.who(), id, offendingType, kind.wire(), message);
        sendRefusal(link, id, kind, offendingType, message);
    }

    private static void sendRefusal(PortLink link, long id, ErrorKind kind, String offendingType, String message) {
        link.send(new Frame(id, MessageType.CORE_ERROR, new ErrorPayload(kind.wire(), message, offendingType)));
    }

    /**
     * Tells the host that stdin data of session {@code id} was not delivered (core.exec.stdin.error),
     * and logs it under the same rate limit as refused frames.
     */
    static void refuseStdin(PortLink link, long id, Integer errno, String errnoName, String message) {
        link.hostEvents().stdinRefused(link.who(), id, errnoName, message);
        link.send(new Frame(id, MessageType.EXEC_STDIN_ERROR, new ExecStdinError(errno, errnoName, message)));
    }

    /**
     * Answers an exec.request the codec refused (it never became a session) with {@code failed},
     * logged as the failed request it is to the host (not as a refused frame, which is answered with
     * core.error): at the limited rate of failed requests, since a host can send them in a loop. Its
     * cmd was never decoded; the message says what was too large.
     */
    static void refuseRequest(PortLink link, long id, ExecFailed failed) {
        link.hostEvents().requestFailed(link.who(), id, failed, "(not decoded)");
        link.send(new Frame(id, MessageType.EXEC_FAILED, failed));
    }
}
