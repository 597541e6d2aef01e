package io.agentd.agent.transport;

import io.agentd.agent.LogText;
import io.agentd.agent.loop.LogThrottle;
import io.agentd.agent.loop.Loop;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Flags;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.FailureKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * What is sent instead of a frame the encoder refused (over the frame limit, a value out of range).
 * A terminal frame is the only thing that ends the host's wait on its id: dropped, the host would
 * wait forever. So it is replaced by a minimal frame of the same meaning that always fits; any other
 * frame is dropped. Each refusal is logged with its cause, through a {@link LogThrottle}: whatever
 * made one frame too large can make every one of them too large. Loop thread only.
 */
final class UnencodableFrames {
    private static final Logger log = LoggerFactory.getLogger(PortLink.class);
    private static final long LOG_INTERVAL_MILLIS = 1000;

    private final LogThrottle throttle;

    UnencodableFrames(Loop loop) {
        throttle = new LogThrottle(loop, LOG_INTERVAL_MILLIS, log, Level.ERROR, "frames that cannot be encoded");
    }

    /** Logs why {@code frame} was refused; returns the frame to send instead, or null for none. */
    Frame refused(Frame frame, IllegalArgumentException cause) {
        Frame replacement = replacementFor(frame);
        if (throttle.take()) {
            log.error("frame id={} type={} cannot be encoded ({}); {}", frame.id(), frame.type(),
                    LogText.message(cause.getMessage()), replacement == null ? "dropped" : "sent a minimal "
                            + replacement.type() + " instead");
        }
        return replacement;
    }

    static Frame replacementFor(Frame frame) {
        if ((frame.type().flags() & Flags.TERMINAL) == 0) {
            return null;
        }
        long id = frame.id();
        return switch (frame.type()) {
            case EXEC_FAILED -> new Frame(id, MessageType.EXEC_FAILED, ExecFailed.of(FailureKind.OTHER, null, null,
                    "the agent's report of this failure did not fit a frame; the agent log has the cause", null));
            case EXEC_EXITED -> new Frame(id, MessageType.EXEC_EXITED,
                    new ExecExited(((ExecExited) frame.payload()).code(), null, null));
            default -> new Frame(id, MessageType.CORE_ERROR, new ErrorPayload(errorKindOf(frame),
                    "the agent's answer did not fit a frame; the agent log has the cause", null));
        };
    }

    /** The kind of a refused core.error is the agent's own constant: keep it. */
    private static String errorKindOf(Frame frame) {
        return frame.payload() instanceof ErrorPayload e && e.kind() != null && e.kind().length() <= 64
                ? e.kind() : ErrorKind.MALFORMED_MESSAGE.wire();
    }
}
