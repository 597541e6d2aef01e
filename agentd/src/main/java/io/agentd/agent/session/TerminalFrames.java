package io.agentd.agent.session;

import io.agentd.agent.transport.HostOutput;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.FailureKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends a session's terminal frame (exited or failed) so that one always goes out: a host waits for
 * it forever otherwise. When the frame cannot be built or queued (a message quoting host text too
 * long for a frame, or any bug on the way), a minimal one with the same outcome is sent instead and
 * the cause is logged once.
 */
final class TerminalFrames {
    private static final Logger log = LoggerFactory.getLogger(TerminalFrames.class);
    /** A message cut to this many characters still fits any frame. */
    private static final int SHORT_MESSAGE_CHARS = 200;
    /** Longer messages are cut to {@link #SHORT_MESSAGE_CHARS} before they are sent. */
    private static final int LONGEST_MESSAGE_CHARS = 2000;

    private TerminalFrames() {}

    static void sendFailed(HostOutput link, long id, ExecFailed reported) {
        // A message is a sentence about the failure: one far longer quotes something it should not.
        ExecFailed failed = reported.message() == null || reported.message().length() <= LONGEST_MESSAGE_CHARS
                ? reported
                : new ExecFailed(reported.kind(), reported.errno(), reported.errnoName(),
                        shorten(reported.message()), reported.stage());
        try {
            link.send(new Frame(id, MessageType.EXEC_FAILED, failed));
            return;
        } catch (RuntimeException e) {
            log.error("session {}: exec.failed could not be sent ({}); sending a short one instead", id, e.toString());
        }
        ExecFailed shorter = new ExecFailed(failed.kind(), failed.errno(), failed.errnoName(),
                shorten(failed.message()), failed.stage());
        try {
            link.send(new Frame(id, MessageType.EXEC_FAILED, shorter));
        } catch (RuntimeException again) {
            link.send(new Frame(id, MessageType.EXEC_FAILED, ExecFailed.of(FailureKind.OTHER, null, null,
                    "the agent could not report this failure; see its log", null)));
        }
    }

    static void sendExited(HostOutput link, long id, ExecExited exited) {
        try {
            link.send(new Frame(id, MessageType.EXEC_EXITED, exited));
        } catch (RuntimeException e) {
            log.error("session {}: exec.exited could not be sent ({}); sending its code alone", id, e.toString());
            link.send(new Frame(id, MessageType.EXEC_EXITED, new ExecExited(exited.code(), null, null)));
        }
    }

    private static String shorten(String message) {
        if (message == null || message.length() <= SHORT_MESSAGE_CHARS) {
            return message;
        }
        return message.substring(0, SHORT_MESSAGE_CHARS) + "... (" + message.length() + " chars)";
    }
}
