package io.agentd.client.relay;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Ready;
import java.nio.channels.SelectionKey;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flow control, by water marks on the queues of whole frames:
 * <ul>
 *   <li>agent to clients, with an agent whose core.ready lists {@code relay_flow}: a client whose
 *       queue passes {@link #HIGH_WATER} (it does not read) is paused at the agent
 *       ({@code core.relay.client.paused} for its range: the agent holds its sessions' output), and
 *       the relay goes on reading the port for the others; what the agent had sent before it held
 *       the output still queues for that client, up to {@link #HELD_HIGH_WATER}. The rest of a large
 *       frame whose client's pipe is full is copied to its queue rather than left to stall the port.
 *       Below {@link #LOW_WATER} the client is resumed ({@code core.relay.client.resumed}).
 *   <li>a client may pause and resume some ids of its own range at such an agent itself (single
 *       sessions it does not read); the relay forwards those notices but never one for the client's
 *       whole range, which is the relay's own (see ClientFrames#noticeRefusal).
 *   <li>agent to clients otherwise (an agent without the feature, or a paused client past
 *       {@link #HELD_HIGH_WATER}): nothing more is read from the agent, until every such queue is
 *       back under {@link #LOW_WATER}. Nothing is dropped; the other clients wait too
 *       (head-of-line), as they would on the one connection the relay replaces, and the agent's
 *       own backpressure holds its processes.
 *   <li>clients to agent: while the port's queue is above the mark, no client is read.
 *   <li>a client whose own queue is above the mark is not read either, until it drains: the agent
 *       holds session output, not answers to requests, so a client sending requests without
 *       reading the answers would otherwise fill its queue past the held mark. When the relay's own
 *       refusals filled it (a client that sends bad frames without reading the answers), only that
 *       client waits: refusals never hold up the agent.
 * </ul>
 *
 * <p>A client's part of it is kept on it ({@link RelayClient#holdsUpAgent}, {@link RelayClient#pausedAtAgent},
 * {@link RelayClient#inputPaused}). Selector thread only.
 */
final class FlowControl {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    static final long HIGH_WATER = 4L * 1024 * 1024;
    static final long LOW_WATER = 1024 * 1024;
    /**
     * A client paused at the agent may queue this much before it holds everyone up after all: what
     * the agent sent before its pause took effect (agentd: its link's queue up to its 1 MiB mark,
     * a spliced pipe of up to 1 MiB per output, the socket between them, and what one 1 MiB read of
     * the port brought past the mark), with room to spare; and at most a pipe's worth per session
     * whose command ended.
     */
    static final long HELD_HIGH_WATER = 4 * HIGH_WATER;
    /**
     * A client that holds everyone up (past {@link #HELD_HIGH_WATER} though the agent was told to
     * hold its output: answers to requests it pipelined without reading them) and takes less than
     * {@link #LOW_WATER} of its queue in this long is dropped, so that the others are read again.
     * Counted per 1 MiB taken, not from its last read: one that took a few hundred KiB every 9 s
     * held everyone at its pace for as long as it liked.
     */
    static final long HOLD_UP_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(10);
    /**
     * What all the clients' queues may hold together (direct memory, most of it): 128 clients each
     * below its own marks could otherwise queue 2 GiB, and an OutOfMemoryError ends the relay for
     * every client. Past it, the client with the largest queue holds everyone up as if it had passed
     * its own mark (and is paused at an agent that holds output), under the same rules: nothing is
     * read from the agent until it drains to {@link #LOW_WATER}, and one that takes too little of
     * it in {@link #HOLD_UP_LIMIT_NANOS} is dropped.
     */
    static final long QUEUE_BUDGET = 256L * 1024 * 1024;

    /** The clients by slot (the relay's table, read here). */
    private final ClientTable clients;
    private final AgentNotices notices;
    /** What every client's queue holds together: see {@link #QUEUE_BUDGET}. */
    private final OutQueue.Total clientQueues = new OutQueue.Total();
    private final long queueBudget;
    private int clientsHoldingUpAgent;
    /** The port's queue passed {@link #HIGH_WATER}: no client is read until it is back under {@link #LOW_WATER}. */
    private boolean portHoldsUpClients;
    /** While {@link #portHoldsUpClients}: since when (nanoTime), a time no client's {@link PartialFramesBudget#PARTIAL_FRAME_STALL_NANOS} counts. */
    private long portHeldUpSinceNanos;
    /** The agent's latest core.ready lists relay_flow: a client that does not read is paused there. */
    private boolean agentHoldsOutput;
    private final RateLimitedLog heldLog;
    private final RateLimitedLog budgetLog;

    FlowControl(long queueBudget, ClientTable clients, AgentNotices notices, LimitedLogs logs) {
        this.queueBudget = queueBudget;
        this.clients = clients;
        this.notices = notices;
        this.heldLog = logs.limited("lines of clients whose held output passed the mark", false);
        this.budgetLog = logs.limited("lines of the clients' queues past the relay's budget", false);
    }

    /** What every client's queue holds together, counted by each one's {@link OutQueue}. */
    OutQueue.Total clientQueues() {
        return clientQueues;
    }

    /** A new core.ready: whether that agent holds a client's output when told to. */
    void agentReady(Ready ready) {
        agentHoldsOutput = ready.supports(Ready.FEATURE_RELAY_FLOW);
    }

    boolean agentHoldsOutput() {
        return agentHoldsOutput;
    }

    /** Some client's queue holds everyone up: nothing is read from the agent. */
    boolean holdsUpAgent() {
        return clientsHoldingUpAgent > 0;
    }

    boolean portHoldsUpClients() {
        return portHoldsUpClients;
    }

    long portHeldUpSinceNanos() {
        return portHeldUpSinceNanos;
    }

    /**
     * A frame of the agent (or the cached ready) was queued for {@code c}: past the high mark, it is
     * paused at an agent that holds output, not read, and past its mark holds everyone up.
     */
    void agentFrameQueued(RelayClient c) {
        if (!c.pausedAtAgent && agentHoldsOutput && c.output.bytes() > HIGH_WATER) {
            c.pausedAtAgent = true;
            notices.tell(MessageType.CORE_RELAY_CLIENT_PAUSED, c);
        }
        if (!c.inputPaused && c.output.bytes() > HIGH_WATER) {
            // Its requests would only add answers it does not read, and the agent holds session
            // output, not a pong or a stat: read on, it would fill its queue past the held mark and
            // hold everyone up. Read again once it drains, like a client its refusals filled.
            c.inputPaused = true;
            updateOps(c);
        }
        if (!c.holdsUpAgent && c.output.bytes() > (c.pausedAtAgent ? HELD_HIGH_WATER : HIGH_WATER)) {
            if (c.pausedAtAgent) {
                if (heldLog.admit()) {
                    log.info("relay: {} does not read and its queue passed {} MiB after the agent was told to hold"
                            + " its output; nothing is read from the agent until it drains", c,
                            HELD_HIGH_WATER >> 20);
                }
            }
            holdUpAgentFor(c);
        }
        if (clientsHoldingUpAgent == 0 && clientQueues.bytes() > queueBudget) {
            holdUpAgentForTheLargestQueue();
        }
    }

    private void holdUpAgentFor(RelayClient c) {
        c.holdsUpAgent = true;
        c.holdingUpSinceNanos = System.nanoTime();
        c.takenWhileHoldingUp = 0;
        clientsHoldingUpAgent++;
        updateOps(c);
    }

    /** See {@link #QUEUE_BUDGET}. */
    private void holdUpAgentForTheLargestQueue() {
        RelayClient largest = null;
        for (int slot = 0; slot < IdRange.SLOTS; slot++) {
            RelayClient c = clients.at(slot);
            if (c != null && !c.gone && (largest == null || c.output.bytes() > largest.output.bytes())) {
                largest = c;
            }
        }
        if (largest == null) {
            return;
        }
        if (!largest.pausedAtAgent && agentHoldsOutput) {
            largest.pausedAtAgent = true;
            notices.tell(MessageType.CORE_RELAY_CLIENT_PAUSED, largest);
        }
        if (budgetLog.admit()) {
            log.info("relay: the clients' queues hold {} MiB together, past the relay's {} MiB; nothing is read from"
                    + " the agent until {} drains its {} MiB", clientQueues.bytes() >> 20, queueBudget >> 20, largest,
                    largest.output.bytes() >> 20);
        }
        holdUpAgentFor(largest);
    }

    /**
     * A frame of the relay's own (a refusal) was queued for {@code c}. Past the high mark the client
     * is no longer read (it sends without reading the answers), but the agent goes on: only the
     * agent's frames make a client hold everyone up, so a client cannot stall the others with
     * refusals it provokes.
     */
    void ownFrameQueued(RelayClient c) {
        if (unreadPastMark(c)) {
            c.inputPaused = true;
            updateOps(c);
        }
    }

    /** What the relay sent {@code c} lies unread past the high mark. */
    boolean unreadPastMark(RelayClient c) {
        return c.output.bytes() + c.heldBackBytes > HIGH_WATER;
    }

    /** {@code c} took {@code bytes} of its queue: below the low mark it is read, resumed and holds nobody up. */
    void taken(RelayClient c, long bytes) {
        if (c.holdsUpAgent) {
            // A reader slow but steady (1 MiB at a time) keeps its time; a drip of a few hundred
            // KiB now and then does not, or it held everyone at its pace for as long as it liked.
            c.takenWhileHoldingUp += bytes;
            if (c.takenWhileHoldingUp >= LOW_WATER) {
                c.holdingUpSinceNanos = System.nanoTime();
                c.takenWhileHoldingUp = 0;
            }
        }
        if (c.output.bytes() <= LOW_WATER) {
            c.inputPaused = false;
            if (c.pausedAtAgent) {
                c.pausedAtAgent = false;
                notices.tell(MessageType.CORE_RELAY_CLIENT_RESUMED, c);
            }
            if (c.holdsUpAgent) {
                c.holdsUpAgent = false;
                clientsHoldingUpAgent--;
            }
        }
    }

    /**
     * Why {@code c} is dropped for holding everyone up past {@link #HOLD_UP_LIMIT_NANOS}, or null:
     * only a client the agent was told to hold for; without that, holding up is the flow control.
     */
    String heldUpTooLong(RelayClient c, long nowNanos) {
        if (!c.holdsUpAgent || !c.pausedAtAgent || nowNanos - c.holdingUpSinceNanos <= HOLD_UP_LIMIT_NANOS) {
            return null;
        }
        return "held up every client for " + TimeUnit.NANOSECONDS.toSeconds(HOLD_UP_LIMIT_NANOS) + " s: "
                + (c.output.bytes() >> 20) + " MiB of its answers still unread";
    }

    /**
     * The port's queue holds {@code bytes} now: true when that made it start or stop holding every
     * client up (then each client's key is to be set again).
     */
    boolean portQueueIs(long bytes) {
        boolean wasHolding = portHoldsUpClients;
        if (portHoldsUpClients && bytes <= LOW_WATER) {
            portHoldsUpClients = false;
        } else if (!portHoldsUpClients && bytes > HIGH_WATER) {
            portHoldsUpClients = true;
            portHeldUpSinceNanos = System.nanoTime();
        }
        return wasHolding != portHoldsUpClients;
    }

    /**
     * A new agent said core.ready: a pause notice sent while the old agent died may wait in the port
     * for this one, which would then hold the client's output with nothing left to lift it (the
     * drain's resume follows a pause the relay knows of): a client paused stays so at an agent that
     * holds output, and is told again ({@link #tellPausesAgain}), so both agree.
     */
    void carryPauseOver(RelayClient c) {
        boolean wasPaused = c.pausedAtAgent && !c.gone && c.closing == null;
        c.pausedAtAgent = false;
        c.forgetOwnHolds();
        if (wasPaused && agentHoldsOutput) {
            c.pausedAtAgent = true; // the agent is told in tellPausesAgain
        }
    }

    /** The clients paused, each told to the new agent again. */
    void tellPausesAgain() {
        for (int slot = 0; slot < IdRange.SLOTS; slot++) {
            RelayClient c = clients.at(slot);
            if (c != null && c.pausedAtAgent && !c.gone && c.closing == null) {
                notices.tell(MessageType.CORE_RELAY_CLIENT_PAUSED, c);
            }
        }
    }

    /** {@code c} is gone: it holds nobody up any more. */
    void forget(RelayClient c) {
        if (c.holdsUpAgent) {
            c.holdsUpAgent = false;
            clientsHoldingUpAgent--;
        }
    }

    /**
     * {@code c}'s key: it is read unless the port or it holds everyone up, its queue is past the mark,
     * it is closing or it waits for room for a large frame; written while its queue holds bytes.
     */
    void updateOps(RelayClient c) {
        if (c.gone || !c.key.isValid()) {
            return;
        }
        boolean read = !portHoldsUpClients && !c.holdsUpAgent && !c.inputPaused && c.closing == null
                && !c.waitingForRoom;
        c.key.interestOps((read ? SelectionKey.OP_READ : 0) | (c.output.isEmpty() ? 0 : SelectionKey.OP_WRITE));
    }
}
