package io.agentd.client.relay;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.RelayClientRange;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's own frames for the agent (pings, a range's flow control or departure notice, an exit
 * it dropped), encoded here; those it sends at once go ahead of the clients' frames waiting for
 * the port ({@link PortQueue#addOwn}). The clock sync is {@link AgentClockSync}'s. Selector thread only.
 */
final class AgentNotices {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    /** What may wait for the agent before an exit.dropped notice is left out (see {@link #exitDropped}). */
    static final long EXIT_NOTICES_MAX_QUEUED = 2 * FlowControl.HIGH_WATER;

    private final PortQueue portOutput;
    private final FrameEncoder encoder = new FrameEncoder();
    private final RateLimitedLog exitNoticeLog;

    AgentNotices(PortQueue portOutput, LimitedLogs logs) {
        this.portOutput = portOutput;
        this.exitNoticeLog = logs.limited("exits not reported back to an agent that reads nothing", true);
    }

    ByteBuffer ping(long id) {
        return ByteBuffer.wrap(encoder.encode(new Frame(id, MessageType.CORE_PING, Empty.INSTANCE)));
    }

    /** A notice on id 0 about every id of {@code range}. */
    ByteBuffer rangeNotice(MessageType notice, IdRange range) {
        return ByteBuffer.wrap(encoder.encode(new Frame(Protocol.CONTROL_ID, notice,
                new RelayClientRange(range.start(), range.endExclusive()))));
    }

    /**
     * A flow control notice about client {@code c}'s range to the agent: ahead of the client frames
     * waiting for the port (pause and resume are idempotent, and name only the relay's own range).
     */
    void tell(MessageType notice, RelayClient c) {
        portOutput.addOwn(rangeNotice(notice, c.range));
    }

    /**
     * An exit queued for a client that is dropped before its queue reached it, or for ids nobody
     * holds, to an agent that lists relay_exit_dropped: core.relay.exit.dropped on its id, so that it
     * holds the exit for an attach. Not past {@link #EXIT_NOTICES_MAX_QUEUED} waiting for the agent:
     * an agent that sent exits for ids nobody holds and read nothing had the relay queue a notice per
     * exit, its memory growing byte for byte with the flood (a review: 32 MiB of exits, 33 MiB
     * queued). Without its notice that exit's session stays collected, as with an agent that does
     * not take the notice.
     */
    void exitDropped(long id) {
        if (portOutput.bytes() > EXIT_NOTICES_MAX_QUEUED) {
            if (exitNoticeLog.admit()) {
                log.warn("relay: the agent reads nothing and " + (portOutput.bytes() >> 20) + " MiB wait for it: an"
                        + " exit for id {} nobody holds is not reported back to it", id);
            }
            return;
        }
        portOutput.addOwn(ByteBuffer.wrap(encoder.encode(new Frame(id, MessageType.CORE_RELAY_EXIT_DROPPED,
                Empty.INSTANCE))));
    }
}
