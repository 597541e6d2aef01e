package io.agentd.client.relay;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.HostText;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.RelayClientRange;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The frames a client sends: those on its own ids, and on id 0 the few the relay takes there, are
 * staged for the agent until the turn's end; the rest are refused (core.error back to the client,
 * nothing forwarded), and a client that cannot be followed any further is closed. Selector thread only.
 */
final class ClientFrames {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    /** See {@link #stage}. */
    private static final int STAGE_GATHER_BYTES = 16 * 1024;
    /**
     * The longest client frame on id 0 the relay decodes; longer ones are refused unread. What it
     * takes there is core.shutdown (33 bytes) and core.relay.client.paused / resumed with a range
     * (83 bytes in the reference encoding); 1 KiB leaves room for any other legal encoding of them
     * (longer integer forms, indefinite lengths, unknown keys) and keeps one decode, on the thread
     * that serves every client, well under a millisecond even when the frame is made slow (1 KiB of
     * distinct map keys: 0.1-0.3 ms; 4 MiB of them took 0.3-0.6 s).
     */
    static final int CONTROL_FRAME_MAX = 1024;

    private final PortQueue portOutput;
    private final ClientOutput output;
    private final FlowControl flow;
    private final StartBarrier startBarrier;
    /** Drops a client that sends what the relay refuses faster than it reads the refusals. */
    private final BiConsumer<RelayClient, String> drop;
    private final RateLimitedLog refusedLog;
    /** Clients with frames staged this turn, in the order they were read. */
    private final List<RelayClient> staging = new ArrayList<>();

    ClientFrames(PortQueue portOutput, ClientOutput output, FlowControl flow, StartBarrier startBarrier,
            LimitedLogs logs, BiConsumer<RelayClient, String> drop) {
        this.portOutput = portOutput;
        this.output = output;
        this.flow = flow;
        this.startBarrier = startBarrier;
        this.drop = drop;
        this.refusedLog = logs.limited("refused client frames (each was answered with core.error)", false);
    }

    /**
     * Bytes just read from {@code c}, to its splitter; false when reading it stops (it was dropped,
     * or is closing).
     */
    boolean feed(RelayClient c, ByteBuffer bytes) {
        return c.input.feed(bytes, new ClientSink(c));
    }

    /**
     * Where a client's frames go: the port when the id is the client's, and on id 0 when it is
     * core.shutdown or a relay flow notice for some ids of its own ({@link #controlRefusal}); a
     * refusal otherwise.
     */
    private final class ClientSink implements FrameSplitter.Sink {
        private final RelayClient c;

        ClientSink(RelayClient c) {
            this.c = c;
        }

        @Override
        public boolean frame(long id, ByteBuffer view) {
            if (c.range.contains(id)) {
                startBarrier.clientSent(id);
                stage(c, view); // copied: a view on the client read buffer, which the next read reuses
                return true;
            }
            if (id == Protocol.CONTROL_ID) {
                return onControlFrame(c, view);
            }
            // Not decoded: a client may make a decode slow (4 MiB of map keys), and this thread serves all.
            return refuseUnlessUnread(c, "on ids outside its range", () -> refuse(c, id, EnvelopeType.of(view),
                    "id " + id + " is outside this client's range " + c.range
                    + " (the relay's greeting gave it); nothing was forwarded"));
        }

        @Override
        public boolean badLength(long length) {
            output.queueFrame(c, new Frame(Protocol.CONTROL_ID, MessageType.CORE_ERROR, new ErrorPayload(
                    ErrorKind.MALFORMED_MESSAGE.wire(), "frame length " + length + " is outside "
                    + Protocol.MIN_FRAME_LEN + ".." + Protocol.MAX_FRAME_LEN + "; the stream cannot be followed"
                    + " any further, so the relay closes this connection", null)));
            output.closeOnceWritten(c, "sent a frame length of " + length);
            return false;
        }
    }

    /**
     * A client's frame on id 0: forwarded when it is one the relay takes there ({@link #controlRefusal}),
     * refused otherwise. Only a short one is decoded; a longer one is refused unread, as it can be
     * none of those, and its decode would hold up every client (see {@link #CONTROL_FRAME_MAX}).
     */
    private boolean onControlFrame(RelayClient c, ByteBuffer view) {
        int length = view.remaining();
        if (length > CONTROL_FRAME_MAX) {
            return refuseUnlessUnread(c, "on id 0", () -> refuse(c, Protocol.CONTROL_ID, EnvelopeType.of(view),
                    "a frame of " + length + " bytes on id 0, where the relay reads none above " + CONTROL_FRAME_MAX
                    + " (core.shutdown and the relay flow notices it takes there are far shorter); nothing was"
                    + " forwarded"));
        }
        byte[] bytes = copyOf(view);
        DecodedFrame decoded = DecodedFrame.of(bytes);
        Frame frame = decoded.frame();
        String type = decoded.type();
        String refusal = controlRefusal(c, frame, type);
        if (refusal != null) {
            return refuseUnlessUnread(c, "on id 0",
                    () -> refuse(c, Protocol.CONTROL_ID, type, refusal + "; nothing was forwarded"));
        }
        if (!c.countOwnNotice(frame)) {
            return refuseUnlessUnread(c, "on id 0", () -> refuse(c, Protocol.CONTROL_ID, ErrorKind.LIMIT_EXCEEDED,
                    type, "this client already holds " + RelayClient.OWN_HOLDS + " ranges of its own at the agent,"
                    + " the most the relay passes on (the rest are the other clients'); nothing was forwarded"));
        }
        stage(c, ByteBuffer.wrap(bytes));
        return true;
    }

    /**
     * Runs {@code refusal} for a client's frame the relay refuses, unless over the mark of what the
     * client was sent lies unread: then it is dropped instead (false). Such a client, sending frames
     * the relay refuses, would queue 20 times their size in refusals (a 9-byte frame, a 200-byte
     * core.error) for each read before its pause takes effect, and one that reads them slowly would
     * keep the relay making them (PROTOCOL-EXTENSIONS).
     *
     * @param where where the refused frames were sent ("on id 0"), for the drop's reason
     */
    private boolean refuseUnlessUnread(RelayClient c, String where, Runnable refusal) {
        if (flow.unreadPastMark(c)) {
            drop.accept(c, "sent frames " + where + " faster than it read the refusals");
            return false;
        }
        refusal.run();
        return true;
    }

    /**
     * Why a client's frame on id 0 does not go to the agent, or null when it does: core.shutdown
     * (any host may ask for it), core.clock.sync (any host may set the guest's clock, as it may stop
     * the agent; the agent answers none, or a refusal on id 0 that the relay logs and drops), and a
     * client's own relay flow notice ({@link #noticeRefusal}). The rest of id 0 is the relay's and
     * the agent's alone. {@code frame} is null when it could not be decoded, {@code type} then what
     * the decoder read of its type, if anything.
     */
    private String controlRefusal(RelayClient c, Frame frame, String type) {
        if (frame != null && (frame.type() == MessageType.CORE_SHUTDOWN || frame.type() == MessageType.CORE_CLOCK_SYNC)) {
            return null;
        }
        if (MessageType.CORE_RELAY_CLIENT_PAUSED.wire().equals(type)
                || MessageType.CORE_RELAY_CLIENT_RESUMED.wire().equals(type)) {
            // The decoder refuses a reversed range or an id past u32: such a notice is null here.
            return frame == null ? type + " whose payload is not a range of u32 ids"
                    : noticeRefusal(c, frame.type(), (RelayClientRange) frame.payload());
        }
        return "on id 0 the relay takes only core.shutdown, core.clock.sync, and core.relay.client.paused / resumed"
                + " for ids of the client's own" + (type == null ? "" : ", not " + type);
    }

    /**
     * Why a client's own core.relay.client.paused / resumed does not go to the agent, or null when it
     * goes unchanged. A client pauses single sessions of its own there (AgentClient: one whose output
     * nobody reads), so that they do not stall everything else it reads. It may name only ids of its
     * own range (not another client's output), never its whole range (the range of the relay's own
     * notices: the agent releases exact ranges, so the client's resume would undo the relay's pause
     * and the reverse), and only to an agent that holds output: one whose ready lists relay_flow.
     */
    private String noticeRefusal(RelayClient c, MessageType type, RelayClientRange ids) {
        IdRange range = c.range;
        String named = type.wire() + " of [" + ids.idStart() + ", " + ids.idEndExclusive() + ")";
        if (!flow.agentHoldsOutput()) {
            return named + ": the agent does not hold output (its core.ready does not list "
                    + Ready.FEATURE_RELAY_FLOW + ")";
        }
        if (ids.idStart() >= ids.idEndExclusive()) {
            return named + ": the range names no ids";
        }
        if (ids.idStart() < range.start() || ids.idEndExclusive() > range.endExclusive()) {
            return named + ": the range is not inside this client's range " + range;
        }
        if (ids.idStart() == range.start() && ids.idEndExclusive() == range.endExclusive()) {
            return named + ": that is this client's whole range, which only the relay pauses and resumes";
        }
        return null;
    }

    private void refuse(RelayClient c, long id, String type, String message) {
        refuse(c, id, ErrorKind.INVALID_SESSION, type, message);
    }

    private void refuse(RelayClient c, long id, ErrorKind kind, String type, String message) {
        if (refusedLog.admit()) {
            // Quoted: the type and the message may hold a client's bytes (a type no agent knows).
            log.info("relay: {}: refused {} on id {}: {}", c, type == null ? "a frame" : HostText.quote(type,
                    HostText.QUOTE_MAX), id, HostText.quote(message, LimitedLogs.LOGGED_TEXT_MAX));
        }
        output.queueFrame(c, new Frame(id, MessageType.CORE_ERROR, new ErrorPayload(kind.wire(), message, type)));
    }

    /**
     * A copy of a client's frame for the agent, held until the turn's end: see {@link #releaseStaged}.
     * Frames smaller than {@link #STAGE_GATHER_BYTES} are copied one after the other into shared
     * buffers of that size: an array and a buffer each, a read of 256 KiB of 9-byte frames from each
     * of 128 clients held 281 MiB of heap in one turn (a review), ten times the bytes.
     */
    private void stage(RelayClient c, ByteBuffer frame) {
        if (c.staged.isEmpty()) {
            staging.add(c);
        }
        int n = frame.remaining();
        if (n >= STAGE_GATHER_BYTES) {
            c.staged.add(ByteBuffer.wrap(copyOf(frame)));
            return;
        }
        ByteBuffer last = c.staged.isEmpty() ? null : c.staged.get(c.staged.size() - 1);
        if (last == null || last.capacity() != STAGE_GATHER_BYTES || last.capacity() - last.limit() < n) {
            last = ByteBuffer.allocate(STAGE_GATHER_BYTES).limit(0);
            c.staged.add(last);
        }
        int at = last.limit();
        last.limit(at + n).put(at, frame, frame.position(), n);
    }

    /**
     * The clients' frames of this turn go to the port, after the departure notices of the clients
     * found gone in the same turn. A host killed a moment before another client sent a frame about
     * its sessions (an attach, mostly) was gone first, and the agent must hear it first: the selector
     * hands a turn's ready clients over in no particular order. A client's own frames still precede
     * its own notice (ClientDepartures#drop releases them first).
     */
    void releaseStaged() {
        staging.forEach(this::releaseStaged);
        staging.clear();
    }

    /** {@code c}'s staged frames to the port now. */
    void releaseStaged(RelayClient c) {
        if (!c.staged.isEmpty()) {
            c.staged.forEach(portOutput::addClientFrames);
            c.staged.clear();
            c.framesForAgentEnd = portOutput.clientEnd();
        }
    }

    private static byte[] copyOf(ByteBuffer bytes) {
        byte[] copy = new byte[bytes.remaining()];
        bytes.get(copy);
        return copy;
    }
}
