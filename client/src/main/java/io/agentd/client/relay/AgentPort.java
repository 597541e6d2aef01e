package io.agentd.client.relay;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VM's port to the agent, on the loop's side: read in turns (a large frame's rest by
 * {@link FrameRestSplice}, the rest split into frames for {@link AgentFrameRouter}), written from
 * {@link PortQueue}, watched for reading only while no client holds the agent up, and followed
 * across the agent's death ({@link #guestClosed}) and the VM's resume ({@link #vmResumed}). Selector
 * thread only.
 */
final class AgentPort {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    /**
     * The agent's read: large, so that one read carries many frames and a run of them for one client
     * goes out in one write straight from this buffer (see {@link #onEvents}).
     */
    static final int PORT_READ_BYTES = 1024 * 1024;
    /** Reads and splices of the port per wake-up, before the clients get their turn. */
    private static final int PORT_TURNS = 16;

    private final SocketChannel port;
    private final String portName;
    private final SelectionKey portKey;
    /** The port's read buffer ({@link #PORT_READ_BYTES}), shared with the splice, which copies a rest through it. */
    private final ByteBuffer portBuffer;
    /** The agent's bytes, split into frames for {@link #router}. */
    private final FrameSplitter portInput = new FrameSplitter();
    private final PortQueue portOutput;
    private final FrameRestSplice splice;
    private final AgentFrameRouter router;
    private final ClientTable clients;
    private final ClientOutput output;
    private final FlowControl flow;
    private final PartialFramesBudget partialFrames;
    private final StartBarrier startBarrier;
    private final AgentClockSync clockSync;
    /** Drops a client whose frame the agent died in the middle of ({@link ClientDepartures#drop}). */
    private final BiConsumer<RelayClient, String> drop;

    AgentPort(SocketChannel port, String portName, SelectionKey portKey, ByteBuffer portBuffer, PortQueue portOutput,
            FrameRestSplice splice, AgentFrameRouter router, ClientTable clients, ClientOutput output, FlowControl flow,
            PartialFramesBudget partialFrames, StartBarrier startBarrier, AgentClockSync clockSync,
            BiConsumer<RelayClient, String> drop) {
        this.port = port;
        this.portName = portName;
        this.portKey = portKey;
        this.portBuffer = portBuffer;
        this.portOutput = portOutput;
        this.splice = splice;
        this.router = router;
        this.clients = clients;
        this.output = output;
        this.flow = flow;
        this.partialFrames = partialFrames;
        this.startBarrier = startBarrier;
        this.clockSync = clockSync;
        this.drop = drop;
    }

    /** The port's key is ready: returns why the port is lost, or null. */
    String onEvents(SelectionKey key) {
        try {
            if (key.isWritable()) {
                flush();
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
                    feed(portBuffer);
                }
            }
            return null;
        } catch (IOException e) {
            return "the port " + portName + " broke: " + e.getMessage();
        }
    }

    /** Bytes of the port to the splitter; the end of a resync ({@link #guestClosed}) is logged. */
    private void feed(ByteBuffer bytes) {
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
    void guestClosed(long closedAtMicros) {
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
            // What was held back for it behind the spliced frame (a refusal) must never follow the cut
            // frame's bytes: the drop closes its connection at once, and nothing hands it on after the
            // cut (RelayAgentDiesMidFrameTest). ClientOutput.forget then only tidies it away.
            drop.accept(cut, "was closed: the agent died in the middle of a frame for it, which it cannot read on from");
        }
        feed(ByteBuffer.allocate(0)); // the held bytes may hold the new agent's ready already
    }

    /**
     * QEMU resumed the VM: the agent is sent core.clock.sync, ahead of the clients' frames waiting.
     * Not while no agent is known up (none has said core.ready yet, or the port's input waits for a
     * restarted one's): that agent's core.ready brings a sync of its own ({@link AgentFrameRouter#tellReadyAgent}).
     */
    void vmResumed() {
        if (router.latestReady() == null || portInput.resyncing()) {
            log.debug("relay: QEMU resumed the VM while no agent is up; its core.ready will bring the clock sync");
            return;
        }
        clockSync.sync("QEMU resumed the VM");
    }

    /** Writes what waits for the agent, if anything; returns why the port is lost, or null. */
    String flushQueued() {
        if (!portOutput.isEmpty()) {
            try {
                flush();
            } catch (IOException e) {
                return "writing to the port " + portName + " failed: " + e.getMessage();
            }
        }
        return null;
    }

    private void flush() throws IOException {
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

    private int readOps() {
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
    void updateOps() {
        portKey.interestOps(readOps() | (portOutput.isEmpty() ? 0 : SelectionKey.OP_WRITE));
    }

    /** The relay ends. */
    void close() {
        try {
            port.close();
        } catch (IOException e) {
            log.debug("relay: closing the port", e);
        }
    }
}
