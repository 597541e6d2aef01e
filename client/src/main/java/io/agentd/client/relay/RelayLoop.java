package io.agentd.client.relay;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.Ready;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's one thread: a selector over the port, the listening socket and every client, which
 * wires the parts below together. All the state below is this thread's alone; other threads only
 * read the futures and counts and call {@link #stop}, {@link #guestClosedPort} and {@link #vmResumed}.
 *
 * <p>The parts, each with its own state:
 * <ul>
 *   <li>the agent's side: {@link AgentFrameRouter} (where the agent's frames go, core.ready and the
 *       probe among them), {@link FrameRestSplice} (the rest of a large frame, to its client),
 *       {@link PortQueue} (what waits for the agent), {@link AgentNotices} and {@link AgentClockSync}
 *       (the relay's own frames for it), {@link StartBarrier} (the start's notices that every range
 *       left);
 *   <li>the clients' side: {@link ClientArrivals} (accepting), {@link ClientFrames} (what a client
 *       sends: to the agent, or refused), {@link ClientOutput} (what goes to a client), {@link SlotPool}
 *       (whose ids are free, or leaving until the agent confirms a departure);
 *   <li>between them: {@link FlowControl} (the water marks, and who is read or holds up whom) and
 *       {@link PartialFramesBudget} (the room the large frames clients are sending take);
 *   <li>{@link LimitedLogs}, the rate-limited lines of them all.
 * </ul>
 * This class reads and writes the sockets, follows the port across an agent's death
 * ({@link #onGuestClosedPort}), admits and drops clients, and runs the timers.
 */
final class RelayLoop implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    /**
     * How often the loop looks at its timers while a client holds everyone up, one is closing or the
     * start barrier's time runs (a client holding room for a large frame: see {@link PartialFramesBudget}).
     */
    static final long HOLD_UP_CHECK_MILLIS = 1000;
    /** A client's read: its frames are copied out of it (the agent's port is slower than a client). */
    private static final int READ_BYTES = 256 * 1024;
    /**
     * The agent's read: large, so that one read carries many frames and a run of them for one client
     * goes out in one write straight from this buffer (see {@link #onPortEvents}).
     */
    static final int PORT_READ_BYTES = 1024 * 1024;
    /** Reads and splices of the port per wake-up, before the clients get their turn. */
    private static final int PORT_TURNS = 16;
    /** Lines a second of clients connecting, and of clients leaving ({@link #arrivalLog}). */
    static final int CONNECTION_LINES_PER_SECOND = 20;
    private static final long NO_CLOSE = Long.MIN_VALUE;

    private final SocketChannel port;
    private final ListenSocket listen;
    private final ServerSocketChannel server;
    private final Path listenPath;
    private final String portName;
    private final Selector selector;
    private final SelectionKey portKey;
    private final SelectionKey serverKey;
    private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(READ_BYTES);
    private final ByteBuffer portBuffer = ByteBuffer.allocateDirect(PORT_READ_BYTES);
    /** The agent's bytes, split into frames for {@link #router}. */
    private final FrameSplitter portInput = new FrameSplitter();

    /** The clients by slot: the table the parts read, which only {@link #admit} and {@link #drop} change. */
    private final ClientTable clients = new ClientTable();
    /** The slots no client holds: free, or leaving until the agent confirms a departure. */
    private final SlotPool slots = new SlotPool();
    private final ChunkPool chunks = new ChunkPool();
    /** What waits for the agent: the clients' frames, and the relay's own, which go first (see {@link PortQueue}). */
    private final PortQueue portOutput = new PortQueue();
    /** Every rate-limited kind of line: their counts are due on the loop's timer. */
    private final LimitedLogs logs = new LimitedLogs();
    private final AgentNotices notices;
    private final AgentClockSync clockSync;
    private final StartBarrier startBarrier = new StartBarrier();
    private final FlowControl flow;
    private final PartialFramesBudget partialFrames;
    private final ClientOutput output;
    private final ClientFrames clientFrames;
    private final FrameRestSplice splice;
    private final AgentFrameRouter router;
    private final ClientArrivals arrivals;

    private final CompletableFuture<Relay.Ending> ending = new CompletableFuture<>();
    private volatile boolean stopping;
    /**
     * QEMU said the guest closed its port (the agent died), at this time by its stamp (the latest
     * close if several came; {@link #NO_CLOSE}: none): set by the QMP watch's thread, taken by this one.
     */
    private final AtomicLong guestClosedPortAt = new AtomicLong(NO_CLOSE);
    /** QEMU said it resumed the VM (QMP's RESUME): set by the QMP watch's thread, taken by this one. */
    private final AtomicBoolean vmResumed = new AtomicBoolean();
    /**
     * Clients connecting and leaving are the relay's normal life, each worth its line: at most
     * {@link #CONNECTION_LINES_PER_SECOND} a second of each (as the agent's own connection lines), so
     * that a client connecting and closing in a loop cannot flood the log; the rest are counted.
     */
    private final RateLimitedLog arrivalLog = logs.limited("clients connected", false, 1000, CONNECTION_LINES_PER_SECOND);
    /**
     * Apart from arrivals: a client dropped for a bad frame right after it connected (the usual
     * way) must get its line, with the reason, not lose it to its own "connected".
     */
    private final RateLimitedLog departureLog =
            logs.limited("clients gone (left or dropped)", false, 1000, CONNECTION_LINES_PER_SECOND);

    RelayLoop(SocketChannel port, ListenSocket listen, String portName) throws IOException {
        this(port, listen, portName, FlowControl.QUEUE_BUDGET, PartialFramesBudget.PARTIAL_FRAME_STALL_NANOS);
    }

    /**
     * With a budget for the clients' queues other than {@link FlowControl#QUEUE_BUDGET}, and another
     * time for a client to move its large frame on than
     * {@link PartialFramesBudget#PARTIAL_FRAME_STALL_NANOS} (tests).
     */
    RelayLoop(SocketChannel port, ListenSocket listen, String portName, long queueBudget, long partialFrameStallNanos)
            throws IOException {
        this.notices = new AgentNotices(portOutput, logs);
        this.clockSync = new AgentClockSync(portOutput, logs);
        this.flow = new FlowControl(queueBudget, clients, notices, logs);
        this.partialFrames = new PartialFramesBudget(partialFrameStallNanos, logs, flow::updateOps);
        this.output = new ClientOutput(flow, partialFrames, this::drop);
        this.clientFrames = new ClientFrames(portOutput, output, flow, startBarrier, logs, this::drop);
        this.port = port;
        this.listen = listen;
        this.server = listen.channel();
        this.listenPath = listen.path();
        this.portName = portName;
        this.selector = Selector.open();
        port.configureBlocking(false);
        server.configureBlocking(false);
        this.portKey = port.register(selector, SelectionKey.OP_READ);
        this.serverKey = server.register(selector, SelectionKey.OP_ACCEPT);
        this.arrivals = new ClientArrivals(server, serverKey, slots, clients, logs);
        this.splice = new FrameRestSplice(port, portName, portBuffer, output, flow);
        this.router = new AgentFrameRouter(clients, slots, startBarrier, splice, output, flow, portOutput, notices,
                clockSync, logs);
    }

    CompletableFuture<Ready> firstReady() {
        return router.firstReady();
    }

    Ready latestReady() {
        return router.latestReady();
    }

    CompletableFuture<Relay.Ending> ending() {
        return ending;
    }

    int clientCount() {
        return clients.count();
    }

    long splicedBytes() {
        return splice.splicedBytes();
    }

    long framesForDeparted() {
        return router.framesForDeparted();
    }

    void stop() {
        stopping = true;
        selector.wakeup();
    }

    /**
     * From any thread ({@link QmpPortWatch}): QEMU reported that the guest closed the agent's port,
     * at {@code atMicros} by its stamp ({@link QemuClock}; {@link QemuClock#UNKNOWN} without one).
     * Nothing in the port's byte stream says so; handled on the loop's thread, before its next read.
     */
    void guestClosedPort(long atMicros) {
        guestClosedPortAt.accumulateAndGet(atMicros, Math::max);
        selector.wakeup();
    }

    /**
     * From any thread ({@link QmpPortWatch}): QEMU reported that it resumed the VM (QMP's RESUME:
     * after {@code stop} and {@code cont}, a snapshot's load, an incoming migration). The guest's
     * clock stood still while the VM did, and nothing in the guest sets it again: the relay sends
     * the agent core.clock.sync with the host's time, on the loop's thread.
     */
    void vmResumed() {
        vmResumed.set(true);
        selector.wakeup();
    }

    @Override
    public void run() {
        Relay.Ending end = new Relay.Ending("relay error", false, true);
        try {
            end = serve();
        } catch (IOException | RuntimeException e) {
            log.error("relay failed", e);
            end = new Relay.Ending("relay error: " + e, false, true);
        } catch (Error e) {
            // Out of memory, say. The relay still ends: its clients are closed, its socket removed and
            // its process exits, rather than a thread gone and a relay that accepts into its backlog
            // for ever, which nothing would restart.
            end = new Relay.Ending("relay error: " + e, false, true);
            log.error("relay failed", e);
        } finally {
            try {
                shutDown();
            } finally {
                ending.complete(end);
            }
        }
    }

    private Relay.Ending serve() throws IOException {
        log.info("relay: serving {} for up to {} clients on {}", portName, IdRange.SLOTS, listenPath);
        startBarrier.begin(portOutput, notices, slots);
        while (!stopping) {
            updatePortOps();
            boolean waiting = arrivals.waiting();
            if (!waiting) {
                selector.select(logs.untilReport(timerMillis()));
            } else if (arrivals.clientsTurn()) {
                selector.selectNow(); // the clients' turn: the departures already in, without waiting for more
            } else {
                selector.select(logs.untilReport(arrivals.untilDeadlineMillis()));
            }
            long closedAt = guestClosedPortAt.getAndSet(NO_CLOSE);
            if (closedAt != NO_CLOSE) {
                onGuestClosedPort(closedAt);
            }
            if (vmResumed.getAndSet(false)) {
                onVmResumed();
            }
            for (SelectionKey key : selector.selectedKeys()) {
                if (!key.isValid()) {
                    continue;
                }
                if (key == serverKey) {
                    acceptAll();
                } else if (key == portKey) {
                    String lost = onPortEvents(key);
                    if (lost != null) {
                        return new Relay.Ending(lost, true);
                    }
                } else {
                    onClientEvents((RelayClient) key.attachment(), key);
                }
            }
            selector.selectedKeys().clear();
            if (waiting && arrivals.waiting()) {
                settleWaiting();
            }
            if (flow.holdsUpAgent()) {
                dropClientsHoldingUpTooLong();
            }
            if (output.closing()) {
                dropClientsClosingTooLong();
            }
            if (partialFrames.holdsRoom() && !flow.portHoldsUpClients()) {
                dropClientsStalledMidFrame();
            }
            if (startBarrier.timing()) {
                startBarrier.giveUpIfLate();
            }
            arrivals.resumeAcceptingIfDue();
            logs.reportDue();
            String lost = flushAll();
            if (lost != null) {
                return new Relay.Ending(lost, true);
            }
        }
        return new Relay.Ending("relay stopped", false);
    }

    /** How long the loop may wait for events before it looks at its timers (0: no timeout). */
    private long timerMillis() {
        long millis = arrivals.acceptPaused() ? ClientArrivals.ACCEPT_PAUSE_MILLIS
                : flow.holdsUpAgent() || output.closing() || startBarrier.timing() ? HOLD_UP_CHECK_MILLIS : 0;
        if (partialFrames.holdsRoom()) {
            long check = partialFrames.checkMillis();
            millis = millis == 0 ? check : Math.min(millis, check);
        }
        return millis;
    }

    // ---- the port ------------------------------------------------------------------------------

    /** Returns why the port is lost, or null. */
    private String onPortEvents(SelectionKey key) {
        try {
            if (key.isWritable()) {
                flushPort();
            }
            if (key.isReadable()) {
                // Several turns per wake-up: a frame spliced whole is often followed by the next one.
                for (int turn = 0; turn < PORT_TURNS && readsAgent(); turn++) {
                    if (splice.due()) {
                        FrameRestSplice.RestProgress progress = splice.move();
                        if (progress == FrameRestSplice.RestProgress.PORT_ENDED) {
                            return "the VM's port " + portName + " closed (the VM is gone)";
                        }
                        if (progress == FrameRestSplice.RestProgress.WAITING) {
                            break;
                        }
                        continue;
                    }
                    portBuffer.clear();
                    int headerMissing = portInput.headerMissing();
                    if (splice.expectsBulk() && headerMissing > 0) {
                        // Only the header: the body of a large frame is then spliced, not read.
                        portBuffer.limit(headerMissing);
                    }
                    int n = port.read(portBuffer);
                    if (n < 0) {
                        return "the VM's port " + portName + " closed (the VM is gone)";
                    }
                    if (n == 0) {
                        break;
                    }
                    router.portReadAt(QemuClock.nowMicros());
                    portBuffer.flip();
                    feedPort(portBuffer);
                }
            }
            return null;
        } catch (IOException e) {
            return "the port " + portName + " broke: " + e.getMessage();
        }
    }

    /** Bytes of the port to the splitter; the end of a resync ({@link #onGuestClosedPort}) is logged. */
    private void feedPort(ByteBuffer bytes) {
        boolean resyncing = portInput.resyncing();
        portInput.feed(bytes, router);
        output.sendBorrowed();
        if (resyncing && !portInput.resyncing()) {
            log.info("relay: the new agent's core.ready found after {} discarded bytes; its frames are routed again",
                    portInput.discarded());
        }
    }

    /**
     * The guest closed its port: the agent died (killed, out of memory), maybe in the middle of a
     * frame, whose rest will never come; its restarted successor writes its own frames from the
     * start, beginning with core.ready. A frame of the old agent held in part (in the splitter, or
     * its rest due by splice or copy to a client) is dropped, and its client closed: it got a cut
     * frame, or would have, and could not read on. The port's bytes are then discarded until the new
     * agent's core.ready (bytes of the old one QEMU flushes late go with them), and from it on routed
     * as before. Between frames too: the old agent's last bytes are usually still unread in the
     * port's socket when the news comes (QEMU writes them before it reports the close), and they may
     * end in a cut frame, which read as a frame would swallow the new agent's first ones. What is
     * discarded then is the dead agent's last whole frames at most, whose sessions died with it.
     *
     * <p>Unless the close is older than the latest core.ready: QMP and the port are two streams, and
     * the news of the close may come after the next agent's ready was read and routed (QEMU holds a
     * VSERPORT_CHANGE back up to a second when another came in the second before; the watch's thread
     * may simply be late). That agent wrote its ready after the close, so the close is about the
     * agent before it, whose bytes all came before that ready: there is nothing to drop, and a resync
     * would discard the live agent's frames until its next restart. The stamp orders it: the ready's
     * bytes were read after QEMU wrote them, which was after the close it stamped.
     */
    private void onGuestClosedPort(long closedAtMicros) {
        if (!router.readyReadBefore(closedAtMicros)) {
            log.info("relay: the guest closed its port {} before the agent's latest core.ready, which was already"
                    + " routed: the news is stale (about the agent before), nothing is discarded", portName);
            return;
        }
        RelayClient cut = null;
        String what = null; // what was cut; null between frames
        FrameRestSplice.FrameRest rest = splice.cut();
        if (rest != null) {
            cut = rest.to;
            what = "a frame with " + rest.left + " bytes still to come";
            if (cut != null) {
                // What it was held back behind the frame goes with its connection.
                cut.heldBack.clear();
                cut.heldBackBytes = 0;
            }
        } else if (portInput.inFrame()) {
            long id = portInput.partialId();
            cut = id < 0 ? null : clients.ownerOf(id);
            what = id < 0 ? "the start of a frame" : "a frame on id " + id + " (" + portInput.buffered() + " bytes of it)";
        }
        portInput.resyncToReady();
        // The agent that had (or would have had) the start's notices is gone, its ping perhaps with
        // it: the next one kills whatever sessions it left, so nothing of an earlier relay's comes.
        startBarrier.end();
        if (what == null) {
            log.info("relay: the guest closed its port {} (the agent stopped) between frames; the port's bytes"
                    + " are discarded until the next agent's core.ready", portName);
        } else {
            log.warn("relay: the guest closed its port {} (the agent died) in the middle of {}: it is dropped{}; the"
                    + " port's bytes are discarded until the next agent's core.ready", portName, what,
                    cut == null ? "" : ", and " + cut + " it was for is closed");
        }
        if (cut != null) {
            drop(cut, "was closed: the agent died in the middle of a frame for it, which it cannot read on from");
        }
        feedPort(ByteBuffer.allocate(0)); // the held bytes may hold the new agent's ready already
    }

    /**
     * QEMU resumed the VM: the agent is sent core.clock.sync, ahead of the clients' frames waiting.
     * Not while no agent is known up (none has said core.ready yet, or the port's input waits for a
     * restarted one's): that agent's core.ready brings a sync of its own ({@link AgentFrameRouter#tellReadyAgent}).
     */
    private void onVmResumed() {
        if (router.latestReady() == null || portInput.resyncing()) {
            log.debug("relay: QEMU resumed the VM while no agent is up; its core.ready will bring the clock sync");
            return;
        }
        clockSync.sync("QEMU resumed the VM");
    }

    private void flushPort() throws IOException {
        portOutput.flush(port);
        if (router.tellOwedReadyFrames()) {
            portOutput.flush(port);
        }
        if (flow.portQueueIs(portOutput.bytes())) {
            long now = System.nanoTime();
            for (int slot = 0; slot < IdRange.SLOTS; slot++) {
                RelayClient c = clients.at(slot);
                if (c != null) {
                    if (!flow.portHoldsUpClients()) {
                        partialFrames.notRead(c, flow.portHeldUpSinceNanos(), now);
                    }
                    flow.updateOps(c);
                }
            }
        }
    }

    private int portReadOps() {
        return readsAgent() ? SelectionKey.OP_READ : 0;
    }

    private boolean readsAgent() {
        return !flow.holdsUpAgent() && !splice.stalled();
    }

    /**
     * The port's key waits to read unless the agent is held up, and to write while its queue holds
     * bytes. Set once before each select, the only place its interest counts: everything it depends
     * on (the port's queue, the clients holding up the agent, a stalled splice) changes on this
     * thread in between.
     */
    private void updatePortOps() {
        portKey.interestOps(portReadOps() | (portOutput.isEmpty() ? 0 : SelectionKey.OP_WRITE));
    }

    // ---- clients -------------------------------------------------------------------------------

    private void acceptAll() throws IOException {
        SocketChannel channel;
        while ((channel = arrivals.accept()) != null) {
            Integer slot = slots.take();
            if (slot == null) {
                arrivals.waitForSlot(channel);
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
    private void settleWaiting() throws IOException {
        Integer slot = slots.take();
        if (slot == null && arrivals.waitsForDeparture()) {
            return;
        }
        SocketChannel channel = arrivals.stopWaiting();
        if (slot == null) {
            arrivals.refuseFull(channel);
        } else {
            admit(channel, slot);
        }
    }

    private void admit(SocketChannel channel, int slot) throws IOException {
        SelectionKey key = channel.register(selector, SelectionKey.OP_READ);
        RelayClient c = new RelayClient(channel, key, slot, chunks, flow.clientQueues());
        key.attach(c);
        clients.add(c);
        output.greet(c);
        router.newClient(c);
        if (arrivalLog.admit()) {
            log.info("relay: {} connected ({} now)", c, clients.count());
        }
    }

    private void onClientEvents(RelayClient c, SelectionKey key) {
        try {
            if (key.isWritable()) {
                output.flush(c);
            }
            if (!c.gone && key.isValid() && key.isReadable()) {
                readBuffer.clear();
                int n = c.channel.read(readBuffer);
                if (n < 0) {
                    drop(c, "left");
                    return;
                }
                readBuffer.flip();
                if (!clientFrames.feed(c, readBuffer)) {
                    return;
                }
                partialFrames.afterRead(c, n);
                flow.updateOps(c);
            }
        } catch (IOException e) {
            drop(c, "connection broke: " + e.getMessage());
        }
    }

    /** See {@link ClientOutput#CLOSING_LIMIT_NANOS}. */
    private void dropClientsClosingTooLong() {
        long now = System.nanoTime();
        for (int slot = 0; slot < IdRange.SLOTS; slot++) {
            RelayClient c = clients.at(slot);
            String why = c == null || c.gone ? null : output.closingTooLong(c, now);
            if (why != null) {
                drop(c, why);
            }
        }
    }

    /** See {@link FlowControl#HOLD_UP_LIMIT_NANOS}. */
    private void dropClientsHoldingUpTooLong() {
        long now = System.nanoTime();
        for (int slot = 0; slot < IdRange.SLOTS; slot++) {
            RelayClient c = clients.at(slot);
            String why = c == null || c.gone ? null : flow.heldUpTooLong(c, now);
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
    private void dropClientsStalledMidFrame() {
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

    /** Writes what this turn queued, at once; returns why the port is lost, or null. */
    private String flushAll() {
        clientFrames.releaseStaged();
        output.flushQueued();
        if (!portOutput.isEmpty()) {
            try {
                flushPort();
            } catch (IOException e) {
                return "writing to the port " + portName + " failed: " + e.getMessage();
            }
        }
        return null;
    }

    /** A client is gone: its slot is freed and the agent told, so it can end what the client left. */
    private void drop(RelayClient c, String why) {
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

    // ---- the end -------------------------------------------------------------------------------

    /** Closes every client (each sees the connection end), the port and the listening socket. */
    private void shutDown() {
        logs.reportAll();
        if (clients.count() > 0) {
            log.info("relay: closing the {} client(s) still connected", clients.count());
        }
        clients.closeAll();
        arrivals.close();
        try {
            if (!listen.close()) {
                log.warn("relay: {} names another file now (replaced since the relay put its socket there); left in"
                        + " place", listenPath);
            }
        } catch (IOException e) {
            log.warn("relay: removing {}: {}", listenPath, e.getMessage());
        }
        try {
            port.close();
        } catch (IOException e) {
            log.debug("relay: closing the port", e);
        }
        try {
            selector.close();
        } catch (IOException e) {
            log.debug("relay: closing the selector", e);
        }
    }
}
