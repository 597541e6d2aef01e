package io.agentd.client.relay;

import io.agentd.protocol.Frame;
import io.agentd.protocol.HostText;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.Ready;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the agent's frames go, as the port's splitter hands them over: to the client whose range
 * holds the id (a large one's rest by {@link FrameRestSplice}); core.ready on id 0 to every client,
 * kept for the next ones behind a probe, and answered with what a new agent is told; the pongs of
 * the relay's own pings to the probe, the {@link SlotPool} or the {@link StartBarrier}; the rest,
 * which no client may have, dropped (an exit dropped told back to an agent that takes word of it).
 * Selector thread only, save the readies and the count of frames for departed clients.
 */
final class AgentFrameRouter implements FrameSplitter.Sink {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    /**
     * The relay's own id, outside every client's range, for the ping that checks the agent is still
     * the one whose core.ready is cached before that ready goes to a new client.
     */
    static final long PROBE_ID = 0xFFFF_FFFFL;
    /** Larger than any core.exec.exited the agent writes (all its fields at their widest are under 200 bytes). */
    private static final int MAX_EXIT_FRAME_BYTES = 1024;

    /** The clients by slot (the relay's table, read here). */
    private final ClientTable clients;
    private final SlotPool slots;
    private final StartBarrier startBarrier;
    private final FrameRestSplice splice;
    private final ClientOutput output;
    private final FlowControl flow;
    private final PortQueue portOutput;
    private final AgentNotices notices;
    private final AgentClockSync clockSync;
    /** The agent's latest core.ready, as it came: every new client gets it after its greeting. */
    private byte[] readyFrame;
    /** The agent's latest core.ready lists relay_exit_dropped: it holds again an exit this relay dropped. */
    private boolean agentHoldsDroppedExits;
    /**
     * New clients waiting for the cached ready until the agent answers the probe: a ready may come
     * from an agent that has died since (over a virtio port nothing tells the host), and a client
     * that took it for a live agent would send requests nobody reads. Behind the probe they wait
     * instead, for the pong or for the next agent's own ready.
     */
    private final List<RelayClient> awaitingReady = new ArrayList<>();
    private boolean probing;
    private final CompletableFuture<Ready> firstReady = new CompletableFuture<>();
    private volatile Ready latestReady;
    /** When the latest read of the port returned bytes ({@link QemuClock}): after they were written. */
    private long portReadAtMicros = Long.MIN_VALUE;
    /** {@link #portReadAtMicros} of the read that brought the latest core.ready. */
    private long readyReadAtMicros = Long.MIN_VALUE;
    /** Frames of the agent for the ids of a client that left, dropped before the agent confirmed it. */
    private volatile long framesForDeparted;
    /** Where the frames told the agent at its latest core.ready end in the port's queue ({@link #tellReadyAgent}). */
    private long readyFramesEnd;
    /** A core.ready came while the last one's frames were still queued: they are told once those are out. */
    private boolean readyFramesOwed;
    private final RateLimitedLog droppedLog;
    /** An agent that restarts in a loop, or a guest that sends readies at will, gets a line per interval. */
    private final RateLimitedLog restartLog;
    private final RateLimitedLog departedLog;

    AgentFrameRouter(ClientTable clients, SlotPool slots, StartBarrier startBarrier, FrameRestSplice splice,
            ClientOutput output, FlowControl flow, PortQueue portOutput, AgentNotices notices, AgentClockSync clockSync,
            LimitedLogs logs) {
        this.clients = clients;
        this.slots = slots;
        this.startBarrier = startBarrier;
        this.splice = splice;
        this.output = output;
        this.flow = flow;
        this.portOutput = portOutput;
        this.notices = notices;
        this.clockSync = clockSync;
        this.droppedLog = logs.limited("frames of the agent dropped or skipped", false);
        this.restartLog = logs.limited("agent restarts", false);
        this.departedLog = logs.limited("frames of the agent for departed clients dropped", false);
    }

    CompletableFuture<Ready> firstReady() {
        return firstReady;
    }

    /** From any thread: the latest core.ready, or null before the first. */
    Ready latestReady() {
        return latestReady;
    }

    /** From any thread. */
    long framesForDeparted() {
        return framesForDeparted;
    }

    /** The latest read of the port returned bytes, at this time ({@link QemuClock}): after they were written. */
    void portReadAt(long micros) {
        portReadAtMicros = micros;
    }

    /** Whether the latest core.ready was read before {@code micros} by QEMU's clock (none was: true). */
    boolean readyReadBefore(long micros) {
        return micros >= readyReadAtMicros;
    }

    @Override
    public boolean frame(long id, ByteBuffer bytes) {
        splice.wholeFrameRead();
        fromAgent(id, bytes);
        return true;
    }

    @Override
    public boolean frameStart(long id, ByteBuffer head, long rest) {
        if (rest < FrameRestSplice.SPLICE_MIN || !splice.works() || id == Protocol.CONTROL_ID || id == PROBE_ID
                || startBarrier.stands()) {
            return false; // before the start's barrier is answered, assembled and dropped (fromAgent)
        }
        RelayClient owner = clients.ownerOf(id);
        // A closing client's frame is assembled, then dropped.
        return owner != null && owner.closing == null && splice.start(owner, head, rest);
    }

    @Override
    public boolean takesFrameRests() {
        return splice.works();
    }

    @Override
    public boolean badLength(long length) {
        if (droppedLog.admit()) {
            log.warn("relay: the agent sent a frame length of {} (legal: {}..{}); its bytes are skipped",
                    length, Protocol.MIN_FRAME_LEN, Protocol.MAX_FRAME_LEN);
        }
        return true; // skipped as the protocol's decoder does
    }

    /** {@code bytes} may be a view on the port's read buffer: kept only through {@link ClientOutput#queue}. */
    private void fromAgent(long id, ByteBuffer bytes) {
        if (id == Protocol.CONTROL_ID) {
            byte[] copy = new byte[bytes.remaining()];
            bytes.get(copy);
            fromAgentOnControl(copy);
            return;
        }
        if (id == PROBE_ID) {
            onProbeAnswered();
            return;
        }
        int departed = SlotPool.slotOfProbe(id);
        if (departed >= 0) {
            slots.confirmed(departed);
            return;
        }
        if (startBarrier.isThePing(id)) {
            startBarrier.end();
            return;
        }
        if (SlotPool.isBarrierId(id)) {
            slots.barrierAnswered(id);
            return;
        }
        int slot = ClientTable.slotOf(id);
        if (slot >= 0 && startBarrier.heldBack(id, bytes)) {
            framesForDeparted++;
            tellAgentIfAnExit(id, bytes);
            if (departedLog.admit()) {
                log.info("relay: a frame of the agent on id {}, of an earlier relay's client, was dropped: the agent"
                        + " had not yet taken the notices this relay sent at its start", id);
            }
            return;
        }
        RelayClient owner = clients.ownerOf(id);
        if (owner == null && slot >= 0 && slots.isLeaving(slot)) {
            framesForDeparted++;
            tellAgentIfAnExit(id, bytes);
            if (departedLog.admit()) {
                log.info("relay: a frame of the agent on id {}, of a client that left, was dropped: the agent had"
                        + " not yet taken the notice of its departure", id);
            }
            return;
        }
        if (owner == null || owner.closing != null) {
            tellAgentIfAnExit(id, bytes);
            if (droppedLog.admit()) {
                log.info("relay: a frame of the agent on id {}, which no client holds now{}, was dropped", id,
                        owner == null ? "" : " (" + owner + " is being closed)");
            }
            return;
        }
        boolean exit = isExitToTell(bytes); // before the queue may copy and reuse the view
        output.queue(owner, bytes);
        if (exit) {
            owner.exitQueued(id);
        }
    }

    /**
     * A frame of the agent's for a client that has left is dropped; when it is a session's exit, an
     * agent that lists relay_exit_dropped is told (core.relay.exit.dropped on its id), so that it
     * holds the exit for an attach: it had taken it as delivered, and a detachable session's status
     * was lost for good (the next host's attach found it collected).
     */
    private void tellAgentIfAnExit(long id, ByteBuffer frame) {
        if (isExitToTell(frame)) {
            notices.exitDropped(id);
        }
    }

    /**
     * Whether the agent's frame is a session's exit and the agent takes word of one dropped. An exit
     * is a few hundred bytes at most (a code, a signal and the usage figures): a larger frame, such
     * as every output frame that counts for throughput, is not read at all.
     */
    private boolean isExitToTell(ByteBuffer frame) {
        return agentHoldsDroppedExits && frame.remaining() <= MAX_EXIT_FRAME_BYTES
                && MessageType.EXEC_EXITED.wire().equals(EnvelopeType.of(frame));
    }

    /**
     * core.ready goes to every client and is kept for the next ones (a later one means a new agent:
     * each client must see it to fail what the old one ran). Any other id-0 frame of the agent is a
     * core.error about a frame it could not attribute to a session, and the relay cannot attribute
     * it to a client either: logged and dropped, not sent to clients whose frames it may not be about.
     */
    private void fromAgentOnControl(byte[] bytes) {
        Frame frame = DecodedFrame.of(bytes).frame();
        if (frame != null && frame.type() == MessageType.CORE_READY) {
            Ready ready = (Ready) frame.payload();
            Ready before = latestReady;
            readyFrame = bytes;
            readyReadAtMicros = portReadAtMicros;
            latestReady = ready;
            firstReady.complete(ready);
            flow.agentReady(ready);
            agentHoldsDroppedExits = ready.supports(Ready.FEATURE_RELAY_EXIT_DROPPED);
            if (before != null && before.bootTimeNs() != ready.bootTimeNs()) {
                if (restartLog.admit()) {
                    log.info("relay: the agent restarted (a new core.ready); passed on to {} client(s)",
                            clients.count());
                }
                // A new agent ran none of an earlier relay's sessions (it kills what the old one left),
                // and the start's ping may have died with the old one.
                startBarrier.end();
            }
            startBarrier.agentReady();
            for (int slot = 0; slot < IdRange.SLOTS; slot++) {
                RelayClient c = clients.at(slot);
                if (c != null) {
                    flow.carryPauseOver(c);
                    if (c.closing == null) { // a closing client's refusal is the last it gets
                        output.queueOwned(c, bytes);
                    }
                }
            }
            awaitingReady.clear(); // they got this one: it needs no probe
            if (portOutput.ownWritten() < readyFramesEnd) {
                readyFramesOwed = true; // the last ready's are not out yet: these go once they are
            } else {
                tellReadyAgent();
            }
            // A ping sent to the agent before may have died with it: the next client is probed anew
            // (were the ping answered after all, its pong finds nobody waiting, or proves this agent).
            probing = false;
            return;
        }
        if (droppedLog.admit()) {
            String what = frame == null ? "an undecodable frame" : frame.type().wire();
            if (frame != null && frame.payload() instanceof ErrorPayload e) {
                what += " (" + HostText.quote(e.kind(), HostText.QUOTE_MAX) + ": "
                        + HostText.quote(e.message(), LimitedLogs.LOGGED_TEXT_MAX) + ")";
            }
            log.info("relay: the agent sent {} on id 0; no client to give it to, dropped", what);
        }
    }

    /**
     * A new client: with a core.ready cached it waits for it until the agent answers the probe
     * ({@link #awaitingReady}).
     */
    void newClient(RelayClient c) {
        if (readyFrame != null) {
            awaitingReady.add(c);
            probe();
        }
    }

    /** {@code c} is gone: it waits for no ready. */
    void forget(RelayClient c) {
        awaitingReady.remove(c);
    }

    private void probe() {
        if (!probing) {
            probing = true;
            portOutput.addOwn(notices.ping(PROBE_ID));
        }
    }

    /** The agent that sent the cached ready is alive: the clients waiting for it get it now. */
    private void onProbeAnswered() {
        probing = false;
        for (RelayClient c : awaitingReady) {
            if (!c.gone && c.closing == null) { // a closing client's refusal is the last it gets
                output.queueOwned(c, readyFrame);
            }
        }
        awaitingReady.clear();
    }

    /**
     * After a write of the port: once the frames told the agent at the last core.ready are out, those
     * owed to a later one are queued. True when they were (the port has more to write).
     */
    boolean tellOwedReadyFrames() {
        if (readyFramesOwed && portOutput.ownWritten() >= readyFramesEnd) {
            tellReadyAgent();
            return true;
        }
        return false;
    }

    /**
     * What a new agent is told at its core.ready: the host's time (core.clock.sync: the guest's
     * clock may be far off after a snapshot's restore, or a pause the relay did not see), which
     * clients are paused (a pause notice sent while the old one died may wait in the port for this
     * one, and would hold a client's output with nothing left to lift it: said again, so both
     * agree), and one ping that confirms every departure (a departure's ping may have died with the
     * old agent; answers to older ones are ignored, SlotPool says why). Sent once per ready, but not
     * while the last ready's are still queued: then once they are out, for the latest agent. An
     * agent that sent readies without end while reading nothing grew the queue, and the host
     * relay's memory, a ping per ready.
     */
    private void tellReadyAgent() {
        readyFramesOwed = false;
        clockSync.sync("after its core.ready");
        flow.tellPausesAgain();
        long barrier = slots.restarted();
        if (barrier != SlotPool.NO_BARRIER) {
            // Its answer frees every slot leaving now: after each one's departure notice, those
            // still waiting for their client's last frames included.
            portOutput.addAfterDeferred(notices.ping(barrier));
        }
        readyFramesEnd = portOutput.ownEnd();
    }
}
