package io.agentd.client.relay;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.RelayClientRange;
import java.io.IOException;
import java.nio.channels.SelectionKey;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.nio.channels.SocketChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client of the relay: its socket, slot and ids, the frame it is sending, the frames waiting for
 * it. The rest of its state is in groups, each kept by the part named above it, which alone writes
 * it (the others may read it): fields on the client rather than a table in each part, as the
 * agent's frames read several of them each (the marks, the closing, a rest due). The exits queued
 * for it and its own holds at the agent are its own, behind its methods.
 */
final class RelayClient {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    /**
     * How many ranges of its own (single sessions) a client may have held at the agent at once: the
     * agent's ranges per connection, shared evenly by the slots, less the one the relay itself may
     * pause for each client (1024 / 128 - 1 = 7), so that no client can use up the ranges the relay
     * needs for the others.
     */
    static final int OWN_HOLDS = RelayClientRange.MAX_HELD_PER_CONNECTION / IdRange.SLOTS - 1;

    final SocketChannel channel;
    final SelectionKey key;
    final int slot;
    final IdRange range;
    final FrameSplitter input = new FrameSplitter();
    final OutQueue output;
    /** Its socket's fd, for splice ({@link ChannelFd#NONE}: its frames are copied). */
    final int fd;

    // ---- ClientDepartures' ---------------------------------------------------------------------
    boolean gone;

    // ---- FlowControl's -------------------------------------------------------------------------
    /** Its queue passed the high-water mark: the relay reads nothing from the agent until it drains. */
    boolean holdsUpAgent;
    /** While it holds up the agent: when it began to, or last took a whole {@link FlowControl#LOW_WATER} of its queue. */
    long holdingUpSinceNanos;
    /** Bytes of its queue taken since {@link #holdingUpSinceNanos}. */
    long takenWhileHoldingUp;
    /**
     * Its queue passed the high-water mark and the agent was told to hold its output
     * (core.relay.client.paused); it is resumed when the queue drains.
     */
    boolean pausedAtAgent;
    /** Its queue passed the high-water mark (the agent's frames or the relay's refusals): it is not read until it drains. */
    boolean inputPaused;

    // ---- PartialFramesBudget's -----------------------------------------------------------------
    /** What {@link PartialFramesBudget#PARTIAL_FRAMES_BUDGET} holds for the large frame it is sending (its length); 0: none. */
    long partialReserved;
    /** The frame {@link #partialReserved} is for: {@link FrameSplitter#framesAssembled} when it was reserved. */
    long partialFrame;
    /**
     * While {@link #partialReserved} holds room: when its time to move that frame on last started
     * over (see {@link PartialFramesBudget#PARTIAL_FRAME_STALL_NANOS}); time the relay held every client up
     * for the port is added to it.
     */
    long partialSinceNanos;
    /** Bytes it moved since then: of that frame, or of its queue while it is not read for it. */
    long partialProgress;
    /** It started a large frame past that budget: it is not read until the budget has room for it. */
    boolean waitingForRoom;

    // ---- ClientOutput's ------------------------------------------------------------------------
    /**
     * Why it is to be dropped once the relay's last frame for it is written (a refusal it is owed
     * after a bad frame length); null otherwise. Meanwhile it is not read and gets none of the
     * agent's frames, save the rest of one being spliced to it, which goes before that refusal.
     */
    String closing;
    /** When it began {@link #closing}: it is dropped anyway once it has taken too long to read the last. */
    long closingSinceNanos;
    /** It holds views on the port's read buffer, to be written or copied before the next read. */
    boolean borrowing;
    /**
     * The relay's own frames for it (refusals, a ready) that came while a frame of the agent was
     * being spliced to it ({@link #restDue}): they go after that frame's last byte, never inside it.
     */
    final ArrayDeque<byte[]> heldBack = new ArrayDeque<>();
    long heldBackBytes;

    // ---- FrameRestSplice's ---------------------------------------------------------------------
    /** Where the bodies of its large frames pass (made at its first one); null before, or when none can be made. */
    SplicePipe pipe;
    boolean pipeFailed;
    /** A frame of the agent is being spliced to it, its rest still to come from the port. */
    boolean restDue;

    // ---- ClientFrames' -------------------------------------------------------------------------
    /**
     * Its frames for the agent read in this turn of the relay's loop, queued for the port at the
     * turn's end (see {@link ClientFrames#releaseStaged}), or before its own departure notice if it leaves.
     */
    final List<ByteBuffer> staged = new ArrayList<>();
    /** Where its last frame queued for the agent ends in the port's queue ({@link PortQueue#clientEnd}): its departure notice follows it. */
    long framesForAgentEnd;

    // ---- its own, behind the methods below -----------------------------------------------------
    /**
     * The ids of the session exits queued for it (to an agent that lists relay_exit_dropped), each
     * with where it ends in {@link #output}: one not written out when the client is dropped (it left,
     * or stopped reading) is told to the agent, which had taken it as delivered.
     */
    private final ArrayDeque<long[]> queuedExits = new ArrayDeque<>();
    /** The ranges of its own it paused at the agent and has not resumed (its departure notice releases them). */
    private final Set<RelayClientRange> ownHolds = new HashSet<>();

    /** The exit on {@code id} was just queued (after any written out are forgotten). */
    void exitQueued(long id) {
        forgetWrittenExits();
        queuedExits.add(new long[] {id, output.end()});
    }

    /** The ids of the exits queued and not written out whole, which the queue's drop loses. */
    List<Long> exitsNotWritten() {
        forgetWrittenExits();
        List<Long> ids = new ArrayList<>(queuedExits.size());
        for (long[] e : queuedExits) {
            ids.add(e[0]);
        }
        queuedExits.clear();
        return ids;
    }

    private void forgetWrittenExits() {
        while (!queuedExits.isEmpty() && queuedExits.peek()[1] <= output.written()) {
            queuedExits.poll();
        }
    }

    RelayClient(SocketChannel channel, SelectionKey key, int slot, ChunkPool chunks, OutQueue.Total queued) {
        this.output = new OutQueue(chunks, queued);
        this.channel = channel;
        this.key = key;
        this.slot = slot;
        this.range = IdRange.slot(slot);
        this.fd = ChannelFd.of(channel);
    }

    /**
     * Counts a notice of the client's own on its way to the agent: a pause of a range not yet held
     * takes one of its {@link #OWN_HOLDS}, a resume gives it back. False for a pause past them,
     * which is then refused, not forwarded; true for everything else.
     */
    boolean countOwnNotice(Frame frame) {
        if (!(frame.payload() instanceof RelayClientRange ids)) {
            return true;
        }
        if (frame.type() == MessageType.CORE_RELAY_CLIENT_RESUMED) {
            ownHolds.remove(ids);
            return true;
        }
        return ownHolds.contains(ids) || ownHolds.size() < OWN_HOLDS && ownHolds.add(ids);
    }

    /** A new agent (a new core.ready) holds nothing for anyone: the client's own holds start from none. */
    void forgetOwnHolds() {
        ownHolds.clear();
    }

    /** Closes its socket (it sees the connection end) and its pipe, if it has one: it is dropped, or the relay ends. */
    void closeConnection() {
        try {
            channel.close();
        } catch (IOException e) {
            log.debug("relay: closing {}", this, e);
        }
        if (pipe != null) {
            pipe.close();
        }
    }

    @Override
    public String toString() {
        return "client " + slot + " " + range;
    }
}
