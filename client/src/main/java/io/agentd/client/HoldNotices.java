package io.agentd.client;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.RelayClientRange;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether one connection's sessions can ask the agent to hold their output ({@link OutputHold}),
 * and the sending of those notices: the latest core.ready's relay_flow, a relay's refusal of them,
 * and the {@link NoticeSender} that writes them off the reader's thread.
 */
final class HoldNotices {
    /** AgentClient's: users' log configurations name the client's lines by it. */
    private static final Logger log = LoggerFactory.getLogger(AgentClient.class);

    private final String peer;
    /** Sends the notices off the reader's thread ({@link NoticeSender} says why). */
    private final NoticeSender sender;
    /** The latest core.ready's relay_flow: the agent holds one session's output when asked. */
    private volatile boolean agentHoldsOutput;
    /**
     * A relay in front refused a hold notice (it predates forwarding them): none is sent again on
     * this connection, and full streams make the reader wait, as without the feature.
     */
    private volatile boolean refusedByRelay;

    HoldNotices(String peer, NoticeSender.Connection connection) {
        this.peer = peer;
        this.sender = new NoticeSender(peer, connection);
    }

    /** A core.ready came: whether it lists relay_flow. */
    void agentHoldsOutput(boolean holds) {
        agentHoldsOutput = holds;
    }

    /**
     * A refusal of one of the hold notices {@link OutputHold} sends, true when {@code e} is one. A relay
     * that does not forward them refuses every one (invalid_session): they stop for this connection.
     * An agent that holds as many ranges as it may refuses one more (limit_exceeded): that session's
     * full stream makes the reader wait, as without the feature, and later sessions still ask.
     */
    boolean isRefusal(ErrorPayload e) {
        String about = e.offendingType();
        if (!MessageType.CORE_RELAY_CLIENT_PAUSED.wire().equals(about)
                && !MessageType.CORE_RELAY_CLIENT_RESUMED.wire().equals(about)) {
            return false;
        }
        if (ErrorKind.INVALID_SESSION.wire().equals(e.kind())) {
            if (!refusedByRelay) {
                refusedByRelay = true;
                log.info("{} does not pass on requests to hold a session's output ({}); a full stream now holds"
                        + " up this connection's reader until it is read", peer, AgentLineLimit.message(e.message()));
            }
        } else {
            log.debug("{} refused to hold a session's output: {}: {}", peer, AgentLineLimit.quote(e.kind()),
                    AgentLineLimit.message(e.message()));
        }
        return true;
    }

    /**
     * The hold notices for session {@code id}: core.relay.client.paused and .resumed for the one id,
     * on id 0, queued for {@link NoticeSender}'s thread: the reader decides them, and a reader that
     * sent them itself waited for the write lock behind a stdin write that a relay had stopped
     * taking until this connection read more, for ever.
     */
    OutputHold.Notices forSession(long id) {
        RelayClientRange one = new RelayClientRange(id, id + 1);
        return new OutputHold.Notices() {
            @Override
            public boolean available() {
                return agentHoldsOutput && !refusedByRelay;
            }

            @Override
            public void send(boolean hold) throws IOException {
                sender.queue(new Frame(Protocol.CONTROL_ID,
                        hold ? MessageType.CORE_RELAY_CLIENT_PAUSED : MessageType.CORE_RELAY_CLIENT_RESUMED, one));
            }
        };
    }

    /** The connection ended: notices queued from now on are refused. */
    void stop() {
        sender.stop();
    }
}
