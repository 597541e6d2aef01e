package io.agentd.client.relay;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ClockSync;
import java.nio.ByteBuffer;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's core.clock.sync for the agent: after each core.ready, and when QEMU resumed the VM
 * (its clock stood still meanwhile, and nothing in the guest sets it again). Selector thread only.
 */
final class AgentClockSync {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);

    private final PortQueue portOutput;
    private final FrameEncoder encoder = new FrameEncoder();
    /** A line per clock sync sent (each ready brings one: a guest that sends readies at will gets 5 per interval). */
    private final RateLimitedLog clockSyncLog;
    /**
     * The sync waiting for the port, its write not begun (its time is read as it begins:
     * {@link PortQueue#addOwnStamped}); null when none waits so. Another sync asked for meanwhile is
     * this one.
     */
    private ByteBuffer queued;
    /** Why the sync waiting is sent, for its log line. */
    private String why;

    AgentClockSync(PortQueue portOutput, LimitedLogs logs) {
        this.portOutput = portOutput;
        this.clockSyncLog = logs.limited("clock syncs sent to the agent", false, LimitedLogs.INTERVAL_MILLIS, 5);
    }

    /**
     * Queues core.clock.sync for the agent on id 0, the control channel, as a frame of the relay's own
     * (ahead of the client frames not yet begun). Its time is the host's as its write begins, not as
     * it was queued (behind the rest of a client's 4 MiB frame, say), so a sync still waiting when
     * another is asked for is that one too. The agent answers none (it steps its clock when off by
     * more than 100 ms); a refusal would come on id 0, where the relay logs and drops what is not a
     * core.ready: no client gets it.
     */
    void sync(String why) {
        if (queued != null && queued.position() == 0) {
            if (!this.why.contains(why)) {
                this.why += "; " + why;
            }
            return;
        }
        this.why = why;
        queued = portOutput.addOwnStamped(ByteBuffer.wrap(frame(ClockSync.hostNow())), this::stamp);
    }

    /** The sync's bytes as its write begins: the host's time now; its one log line. */
    private byte[] stamp() {
        ClockSync now = ClockSync.hostNow();
        if (clockSyncLog.admit()) {
            log.info("relay: clock.sync sent to the agent ({}): the host's time, {}", why,
                    Instant.ofEpochSecond(0, now.unixTimeNanos()));
        }
        queued = null; // begun: a sync asked for from now on is a frame of its own
        return frame(now);
    }

    private byte[] frame(ClockSync time) {
        return encoder.encode(new Frame(Protocol.CONTROL_ID, MessageType.CORE_CLOCK_SYNC, time));
    }
}
