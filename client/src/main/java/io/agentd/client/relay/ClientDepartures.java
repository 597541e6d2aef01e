package io.agentd.client.relay;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ErrorPayload;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Clients leaving: one gone (it left, its connection broke, or the relay drops it) has its slot
 * freed and every part told, and the agent is told so it can end what the client left; the
 * clients past one of the relay's time limits are found on the loop's timer and dropped. Selector
 * thread only.
 */
final class ClientDepartures {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);

    private final ClientTable clients;
    private final SlotPool slots;
    private final FlowControl flow;
    private final PartialFramesBudget partialFrames;
    private final ClientFrames clientFrames;
    private final ClientOutput output;
    private final FrameRestSplice splice;
    private final AgentFrameRouter router;
    private final PortQueue portOutput;
    private final AgentNotices notices;
    /**
     * Apart from arrivals: a client dropped for a bad frame right after it connected (the usual
     * way) must get its line, with the reason, not lose it to its own "connected".
     */
    private final RateLimitedLog departureLog;

    ClientDepartures(ClientTable clients, SlotPool slots, FlowControl flow, PartialFramesBudget partialFrames,
            ClientFrames clientFrames, ClientOutput output, FrameRestSplice splice, AgentFrameRouter router,
            PortQueue portOutput, AgentNotices notices, LimitedLogs logs) {
        this.clients = clients;
        this.slots = slots;
        this.flow = flow;
        this.partialFrames = partialFrames;
        this.clientFrames = clientFrames;
        this.output = output;
        this.splice = splice;
        this.router = router;
        this.portOutput = portOutput;
        this.notices = notices;
        this.departureLog = logs.limited("clients gone (left or dropped)", false, 1000,
                LimitedLogs.CONNECTION_LINES_PER_SECOND);
    }

    /** A client is gone: its slot is freed and the agent told, so it can end what the client left. */
    void drop(RelayClient c, String why) {
        if (c.gone) {
            return;
        }
        c.gone = true;
        c.key.cancel();
        c.closeConnection();
        flow.forget(c);
        for (long id : c.exitsNotWritten()) {
            notices.exitDropped(id);
        }
        output.forget(c);
        splice.forget(c);
        router.forget(c);
        partialFrames.release(c);
        clients.remove(c);
        slots.leave(c.slot);
        clientFrames.releaseStaged(c); // what it sent before it left comes before the notice
        // The notice (which also ends a pause of the range) and the ping whose answer frees the slot
        // follow the client's own frames, but not the other clients' queued since (PortQueue).
        portOutput.addAfter(c.framesForAgentEnd, notices.rangeNotice(MessageType.CORE_RELAY_CLIENT_DISCONNECTED, c.range));
        portOutput.addAfter(c.framesForAgentEnd, notices.ping(SlotPool.probeId(c.slot)));
        if (departureLog.admit()) {
            int cut = c.input.buffered();
            log.info("relay: {} {}{}; the agent is told ({} client(s) left)", c, why,
                    cut == 0 ? "" : "; " + cut + " bytes of a frame it never finished were dropped",
                    clients.count());
        }
    }

    /**
     * The clients past one of the relay's time limits are dropped, each looked at only while some
     * client may be past it: holding everyone up, taking too long to read its refusal, or holding
     * room for a large frame without moving it on (not while the port holds every client up).
     */
    void dropLate() {
        if (flow.holdsUpAgent()) {
            dropEachPast(flow::heldUpTooLong); // FlowControl#HOLD_UP_LIMIT_NANOS
        }
        if (output.closing()) {
            dropEachPast(output::closingTooLong); // ClientOutput#CLOSING_LIMIT_NANOS
        }
        if (partialFrames.holdsRoom() && !flow.portHoldsUpClients()) {
            dropStalledMidFrame();
        }
    }

    /** One of the relay's time limits: why {@code c} is past it at {@code nowNanos}, or null. */
    private interface TimeLimit {
        String pastLimit(RelayClient c, long nowNanos);
    }

    /** Each client past {@code limit} is dropped, in slot order, for the reason the limit gives. */
    private void dropEachPast(TimeLimit limit) {
        long now = System.nanoTime();
        for (int slot = 0; slot < IdRange.SLOTS; slot++) {
            RelayClient c = clients.at(slot);
            String why = c == null || c.gone ? null : limit.pastLimit(c, now);
            if (why != null) {
                drop(c, why);
            }
        }
    }

    /**
     * See {@link PartialFramesBudget#PARTIAL_FRAME_STALL_NANOS}: each client that has held room for a
     * large frame that long without moving it on is told why, if its socket takes it now, and closed
     * at once, so that its room goes to the clients waiting for it (a closing client is left to its
     * own limit).
     */
    private void dropStalledMidFrame() {
        long now = System.nanoTime();
        for (int slot = 0; slot < IdRange.SLOTS; slot++) {
            RelayClient c = clients.at(slot);
            String stalled = c == null || c.gone || c.closing != null ? null : partialFrames.stalled(c, now);
            if (stalled != null) {
                output.queueFrame(c, new Frame(Protocol.CONTROL_ID, MessageType.CORE_ERROR, new ErrorPayload(
                        ErrorKind.MALFORMED_MESSAGE.wire(), stalled + ", while the relay holds room for it that other"
                        + " clients' large frames may wait for; the relay closes this connection", null)));
                try {
                    c.output.flush(c.channel); // best effort: a client that reads gets why; its room is freed now
                } catch (IOException e) {
                    log.debug("relay: telling {} why it is closed", c, e);
                }
                drop(c, "was closed: " + stalled + " (its room for large frames goes to the others)");
            }
        }
    }
}
