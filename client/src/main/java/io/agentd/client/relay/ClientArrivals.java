package io.agentd.client.relay;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ErrorPayload;
import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Clients arriving at the listening socket: accepted (accepting pauses a while after accept(2)
 * fails) and given a free slot (watched by the loop's selector, greeted, and the agent's core.ready
 * to follow), the one that came while no slot was free waiting for a departure's confirmation, and
 * one turned away when the relay is full. Selector thread only.
 */
final class ClientArrivals {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    /**
     * After accept(2) fails (EMFILE, ENFILE, ENOMEM: a shortage that lasts a while), the listening
     * socket goes unwatched this long: the waiting client keeps it ready, so watching it at once
     * would fail again on every turn. Ending the relay instead would close every client it serves.
     */
    static final long ACCEPT_PAUSE_MILLIS = 100;
    /**
     * How long a client that came while every slot was held or leaving waits for a departure's
     * confirmation: a live agent answers in milliseconds; this bounds the wait for one that does not
     * (dead, or not up yet) well below agentctl's 10 s ready timeout, so that the client is told the
     * relay is full rather than left to time out.
     */
    static final long LEAVING_WAIT_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final ServerSocketChannel server;
    private final SelectionKey serverKey;
    private final SlotPool slots;
    private final ClientTable clients;
    private final FlowControl flow;
    private final ClientOutput output;
    private final AgentFrameRouter router;
    /**
     * What every client's queue copies the agent's frames into: here because an admission makes
     * each client's queue (its {@link OutQueue}) over it; the writing is {@link ClientOutput}'s.
     */
    private final ChunkPool chunks = new ChunkPool();
    private final FrameEncoder encoder = new FrameEncoder();
    /**
     * A client that came when no slot was free, accepted but not yet given a slot or turned away:
     * the clients first get one more turn, in which those that closed a moment ago are found gone
     * (a slot is held until the relay reads its client's end, and the selector may hand over an
     * arrival before departures that came first); then it waits for the agent to confirm one of the
     * departures ({@link SlotPool}), up to {@link #LEAVING_WAIT_NANOS}. It is turned away at once
     * when every slot is held by a client. No more are accepted meanwhile.
     */
    private SocketChannel waitingForSlot;
    /** When the client waiting is turned away if no departure is confirmed; 0 before its turn. */
    private long waitingDeadline;
    /** While accepting is paused after a failure ({@link #ACCEPT_PAUSE_MILLIS}): when it resumes (nanoTime); else 0. */
    private long acceptPausedUntil;
    /**
     * Clients connecting and leaving are the relay's normal life, each worth its line: at most
     * {@link LimitedLogs#CONNECTION_LINES_PER_SECOND} a second of each (as the agent's own connection lines), so
     * that a client connecting and closing in a loop cannot flood the log; the rest are counted.
     */
    private final RateLimitedLog arrivalLog;
    private final RateLimitedLog acceptFailureLog;
    private final RateLimitedLog fullLog;

    ClientArrivals(ServerSocketChannel server, SelectionKey serverKey, SlotPool slots, ClientTable clients,
            FlowControl flow, ClientOutput output, AgentFrameRouter router, LimitedLogs logs) {
        this.server = server;
        this.serverKey = serverKey;
        this.slots = slots;
        this.clients = clients;
        this.flow = flow;
        this.output = output;
        this.router = router;
        this.arrivalLog = logs.limited("clients connected", false, 1000, LimitedLogs.CONNECTION_LINES_PER_SECOND);
        this.acceptFailureLog = logs.limited("failed accepts (tried again every " + ACCEPT_PAUSE_MILLIS + " ms)", true);
        this.fullLog = logs.limited("clients turned away (the relay was full)", true);
    }

    /** Each client waiting in the backlog gets a slot, until one finds none free: it waits ({@link #waitForSlot}). */
    void acceptAll() throws IOException {
        SocketChannel channel;
        while ((channel = accept()) != null) {
            Integer slot = slots.take();
            if (slot == null) {
                waitForSlot(channel);
                return;
            }
            admit(channel, slot);
        }
    }

    /**
     * After the clients' turn, and after each later one: the client waiting gets a slot freed
     * meanwhile, or waits on while a departure is still to be confirmed (and its time is not up), or
     * is turned away.
     */
    void settleWaiting() throws IOException {
        Integer slot = slots.take();
        if (slot == null && waitsForDeparture()) {
            return;
        }
        SocketChannel channel = stopWaiting();
        if (slot == null) {
            refuseFull(channel);
        } else {
            admit(channel, slot);
        }
    }

    private void admit(SocketChannel channel, int slot) throws IOException {
        SelectionKey key = channel.register(serverKey.selector(), SelectionKey.OP_READ);
        RelayClient c = new RelayClient(channel, key, slot, chunks, flow.clientQueues());
        key.attach(c);
        clients.add(c);
        output.greet(c);
        router.newClient(c);
        if (arrivalLog.admit()) {
            log.info("relay: {} connected ({} now)", c, clients.count());
        }
    }

    /** The next client, ready to serve; null when none waits or accept(2) failed. */
    private SocketChannel accept() throws IOException {
        SocketChannel channel = acceptOne();
        if (channel != null) {
            channel.configureBlocking(false);
            widenSendBuffer(channel);
        }
        return channel;
    }

    /**
     * The next client waiting, or null when none is or accept(2) failed: then accepting pauses
     * ({@link #ACCEPT_PAUSE_MILLIS}) and the relay serves on; the client waits in the backlog.
     */
    private SocketChannel acceptOne() throws IOException {
        try {
            return server.accept();
        } catch (ClosedChannelException e) {
            throw e; // the relay's own socket closed: nothing to wait for, the relay ends
        } catch (IOException e) {
            acceptPausedUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ACCEPT_PAUSE_MILLIS);
            serverKey.interestOps(0);
            if (acceptFailureLog.admit()) {
                log.warn("relay: accepting a client failed ({}): tried again every {} ms, the {} connected served"
                        + " on", e.getMessage(), ACCEPT_PAUSE_MILLIS, clients.count());
            }
            return null;
        }
    }

    /**
     * Asks for a client send buffer as large as one read from the agent (the kernel caps it at
     * net.core.wmem_max), instead of the default ~200 KiB: a read then goes to an attentive client in
     * one write straight from the read buffer, with no remainder to copy and fewer wakeups.
     */
    private static void widenSendBuffer(SocketChannel channel) {
        try {
            channel.setOption(StandardSocketOptions.SO_SNDBUF, AgentPort.PORT_READ_BYTES);
        } catch (IOException | UnsupportedOperationException e) {
            log.debug("relay: SO_SNDBUF not set", e); // the default size works, more slowly
        }
    }

    /** {@code channel} came while no slot was free: it waits ({@link #waitingForSlot}), and no more are accepted. */
    private void waitForSlot(SocketChannel channel) {
        waitingForSlot = channel;
        waitingDeadline = 0;
        serverKey.interestOps(0);
    }

    boolean waiting() {
        return waitingForSlot != null;
    }

    /** The client waiting came in this turn: the clients get theirs before it is settled. */
    boolean clientsTurn() {
        return waitingDeadline == 0;
    }

    /** How long the loop may wait for events before the client waiting is to be turned away. */
    long untilDeadlineMillis() {
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(waitingDeadline - System.nanoTime()));
    }

    /**
     * No slot is free: whether the client waiting waits on, for a departure still to be confirmed
     * (its time starting now, after the clients' turn), its time not up.
     */
    private boolean waitsForDeparture() {
        long now = System.nanoTime();
        if (slots.leavingCount() > 0) {
            if (waitingDeadline == 0) {
                waitingDeadline = now + LEAVING_WAIT_NANOS;
                return true;
            }
            return now - waitingDeadline < 0;
        }
        return false;
    }

    /** The client waiting, which waits no more (it gets a slot or is turned away); accepting resumes. */
    private SocketChannel stopWaiting() {
        SocketChannel channel = waitingForSlot;
        waitingForSlot = null;
        waitingDeadline = 0;
        serverKey.interestOps(SelectionKey.OP_ACCEPT);
        return channel;
    }

    /** A client past the 128th: one core.error on id 0 saying so, then the connection closes. */
    private void refuseFull(SocketChannel channel) {
        String message = "the relay is full: it serves " + IdRange.SLOTS + " clients at once; try again when one"
                + " has left";
        try (channel) {
            // A new socket's send buffer is empty: these ~150 bytes go in one write.
            channel.write(ByteBuffer.wrap(encoder.encode(new Frame(Protocol.CONTROL_ID, MessageType.CORE_ERROR,
                    new ErrorPayload(ErrorKind.INVALID_SESSION.wire(), message, null)))));
        } catch (IOException e) {
            log.debug("relay: refusing a client past the {}th", IdRange.SLOTS, e);
        }
        if (fullLog.admit()) {
            int leaving = slots.leavingCount();
            log.warn("relay: a client was turned away: {} clients are connected{}", clients.count(),
                    leaving == 0 ? ""
                    : " and the agent has not confirmed the departure of " + leaving + " more within "
                    + TimeUnit.NANOSECONDS.toSeconds(LEAVING_WAIT_NANOS) + " s");
        }
    }

    boolean acceptPaused() {
        return acceptPausedUntil != 0;
    }

    /** Accepting resumes once its pause after a failure is over. */
    void resumeAcceptingIfDue() {
        if (acceptPausedUntil != 0 && System.nanoTime() - acceptPausedUntil >= 0) {
            acceptPausedUntil = 0;
            serverKey.interestOps(SelectionKey.OP_ACCEPT);
        }
    }

    /** The relay ends: the client waiting for a slot is closed. */
    void close() {
        try {
            if (waitingForSlot != null) {
                waitingForSlot.close();
            }
        } catch (IOException e) {
            log.debug("relay: closing the client waiting for a slot", e); // the listen socket is closed all the same
        }
    }
}
