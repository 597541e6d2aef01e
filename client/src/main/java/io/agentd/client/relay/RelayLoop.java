package io.agentd.client.relay;

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
 *   <li>the agent's side: {@link AgentPort} (the port's reads and writes, followed across the agent's
 *       death), {@link AgentFrameRouter} (where the agent's frames go, core.ready and the probe among
 *       them), {@link FrameRestSplice} (the rest of a large frame, to its client), {@link PortQueue}
 *       (what waits for the agent), {@link AgentNotices} and {@link AgentClockSync} (the relay's own
 *       frames for it), {@link StartBarrier} (the start's notices that every range left);
 *   <li>the clients' side: {@link ClientTable} (the clients by slot), {@link ClientArrivals}
 *       (accepting, and a slot for each), {@link ClientDepartures} (a client gone, every part told;
 *       those past a time limit), {@link ClientFrames} (what a client sends: to the agent, or
 *       refused), {@link ClientOutput} (what goes to a client), {@link SlotPool} (whose ids are free,
 *       or leaving until the agent confirms a departure);
 *   <li>between them: {@link FlowControl} (the water marks, and who is read or holds up whom) and
 *       {@link PartialFramesBudget} (the room the large frames clients are sending take);
 *   <li>{@link LimitedLogs}, the rate-limited lines of them all.
 * </ul>
 * This class hands each socket's events to its part (a client's read it does itself), takes the
 * QMP watch's news over to its thread, runs the timers, and closes everything at the end.
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
    private static final long NO_CLOSE = Long.MIN_VALUE;

    private final ListenSocket listen;
    private final Path listenPath;
    private final String portName;
    private final Selector selector;
    private final SelectionKey portKey;
    private final SelectionKey serverKey;
    private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(READ_BYTES);

    /** The clients by slot: the table the parts read, which only {@link ClientArrivals} and {@link ClientDepartures} change. */
    private final ClientTable clients = new ClientTable();
    /** The slots no client holds: free, or leaving until the agent confirms a departure. */
    private final SlotPool slots = new SlotPool();
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
    private final AgentPort agentPort;
    private final ClientArrivals arrivals;
    private final ClientDepartures departures;

    private final CompletableFuture<Relay.Ending> ending = new CompletableFuture<>();
    private volatile boolean stopping;
    /**
     * QEMU said the guest closed its port (the agent died), at this time by its stamp (the latest
     * close if several came; {@link #NO_CLOSE}: none): set by the QMP watch's thread, taken by this one.
     */
    private final AtomicLong guestClosedPortAt = new AtomicLong(NO_CLOSE);
    /** QEMU said it resumed the VM (QMP's RESUME): set by the QMP watch's thread, taken by this one. */
    private final AtomicBoolean vmResumed = new AtomicBoolean();

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
        this.listen = listen;
        ServerSocketChannel server = listen.channel();
        this.listenPath = listen.path();
        this.portName = portName;
        this.selector = Selector.open();
        port.configureBlocking(false);
        server.configureBlocking(false);
        this.portKey = port.register(selector, SelectionKey.OP_READ);
        this.serverKey = server.register(selector, SelectionKey.OP_ACCEPT);
        ByteBuffer portBuffer = ByteBuffer.allocateDirect(AgentPort.PORT_READ_BYTES);
        this.splice = new FrameRestSplice(port, portName, portBuffer, output, flow);
        this.router = new AgentFrameRouter(clients, slots, startBarrier, splice, output, flow, portOutput, notices,
                clockSync, logs);
        this.agentPort = new AgentPort(port, portName, portKey, portBuffer, portOutput, splice, router, clients, output,
                flow, partialFrames, startBarrier, clockSync, this::drop);
        this.arrivals = new ClientArrivals(server, serverKey, slots, clients, flow, output, router, logs);
        this.departures = new ClientDepartures(clients, slots, flow, partialFrames, clientFrames, output, splice, router,
                portOutput, notices, logs);
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
            agentPort.updateOps();
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
                agentPort.guestClosed(closedAt);
            }
            if (vmResumed.getAndSet(false)) {
                agentPort.vmResumed();
            }
            for (SelectionKey key : selector.selectedKeys()) {
                if (!key.isValid()) {
                    continue;
                }
                if (key == serverKey) {
                    arrivals.acceptAll();
                } else if (key == portKey) {
                    String lost = agentPort.onEvents(key);
                    if (lost != null) {
                        return new Relay.Ending(lost, true);
                    }
                } else {
                    onClientEvents((RelayClient) key.attachment(), key);
                }
            }
            selector.selectedKeys().clear();
            if (waiting && arrivals.waiting()) {
                arrivals.settleWaiting();
            }
            departures.dropLate();
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

    // ---- clients -------------------------------------------------------------------------------

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

    /** Writes what this turn queued, at once; returns why the port is lost, or null. */
    private String flushAll() {
        clientFrames.releaseStaged();
        output.flushQueued();
        return agentPort.flushQueued();
    }

    /**
     * A client is gone: see {@link ClientDepartures#drop}. The parts made before the departures (the
     * output, the client frames, the port) are handed this method rather than the departures
     * themselves, which are made last since they need every part; none drops a client while the
     * loop is being built (nothing runs until {@link #run}).
     */
    private void drop(RelayClient c, String why) {
        departures.drop(c, why);
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
        agentPort.close();
        try {
            selector.close();
        } catch (IOException e) {
            log.debug("relay: closing the selector", e);
        }
    }
}
