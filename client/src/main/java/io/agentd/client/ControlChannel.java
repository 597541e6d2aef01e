package io.agentd.client;

import io.agentd.protocol.Frame;
import io.agentd.protocol.HostText;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.Ready;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the agent sends on id 0, the control channel, for one connection (on its reader thread): its
 * core.ready, which says what it offers and, from a new agent process, that everything open was
 * lost; and the core.errors there, which name no id: a connection turned away, a refused hold
 * notice or clock sync, or a frame the agent could not attribute.
 */
final class ControlChannel {
    /** AgentClient's: users' log configurations name the client's lines by it. */
    private static final Logger log = LoggerFactory.getLogger(AgentClient.class);

    private final String peer;
    private final LiveIds ids;
    private final HoldNotices holdNotices;
    private final AgentLines lines;
    /** The first core.ready (or null, once a ping found the agent ready); fails when the connection ends first. */
    private final CompletableFuture<Ready> ready = new CompletableFuture<>();
    /**
     * The latest core.ready: what the agent offers now (a restarted agent may be another version),
     * and, with another start time, a restarted agent. Not {@link #ready}'s value, which is null for
     * a connection a ping found ready.
     */
    private volatile Ready lastReady;
    /**
     * The core.clock.sync frames refused on id 0 so far, and the latest refusal: a relay that does
     * not pass them on refuses each one there, before the ping {@link AgentClient#syncClock} sends
     * after it is answered. Nothing names which sync a refusal is for; a relay refuses them all.
     */
    private volatile long clockSyncsRefused;
    private volatile AgentErrorException clockSyncRefusal;

    ControlChannel(String peer, LiveIds ids, HoldNotices holdNotices, AgentLines lines) {
        this.peer = peer;
        this.ids = ids;
        this.holdNotices = holdNotices;
        this.lines = lines;
    }

    /**
     * Waits up to {@code nanos} for the agent to be found ready: its first core.ready, or a pong
     * ({@link #foundReadyByPing}).
     *
     * @throws ExecutionException the connection ended first, or was turned away (its cause)
     */
    void awaitReady(long nanos) throws ExecutionException, TimeoutException, InterruptedException {
        ready.get(nanos, TimeUnit.NANOSECONDS);
    }

    /** The agent's first core.ready of this connection; null while none came, or when a ping found it ready. */
    Ready firstReady() {
        return ready.getNow(null);
    }

    /** A pong came before any core.ready: the agent is ready (a port whose first ready was lost). */
    void foundReadyByPing() {
        ready.complete(null);
    }

    /** The connection ended: a connect still waiting for the agent's ready fails with {@code why}. */
    void connectionEnded(ConnectionLostException why) {
        ready.completeExceptionally(why);
    }

    /** Whether the latest core.ready listed {@code feature}; false while none came (the agent was found by a ping). */
    boolean offers(String feature) {
        Ready latest = lastReady;
        return latest != null && latest.supports(feature);
    }

    /** The core.clock.sync frames refused so far. */
    long clockSyncsRefused() {
        return clockSyncsRefused;
    }

    /** The latest refusal of a core.clock.sync; null while there was none. */
    AgentErrorException clockSyncRefusal() {
        return clockSyncRefusal;
    }

    /** A frame on id 0. */
    void onFrame(Frame frame) {
        switch (frame.type()) {
            case CORE_READY -> onReady((Ready) frame.payload());
            case CORE_ERROR -> onError((ErrorPayload) frame.payload());
            default -> log.debug("ignored {} on the control channel", frame.type());
        }
    }

    private void onError(ErrorPayload e) {
        if (!ready.isDone()) {
            // Before any ready: the peer turns the connection away (a full relay), then closes.
            ready.completeExceptionally(new ConnectionRefusedException(peer, e));
            return;
        }
        if (holdNotices.isRefusal(e)) {
            return;
        }
        if (MessageType.CORE_CLOCK_SYNC.wire().equals(e.offendingType())) {
            // syncClock throws it: the caller hears of it, the log need not.
            clockSyncRefusal = new AgentErrorException(e);
            clockSyncsRefused++; // the reader's own field: one writer
            log.debug("{} refused a clock.sync: {}: {}", peer, AgentLineLimit.quote(e.kind()),
                    AgentLineLimit.message(e.message()));
            return;
        }
        if (lines.controlErrors.take()) {
            log.warn("the agent at {} refused a frame it could not attribute: {}: {}", peer,
                    AgentLineLimit.quote(e.kind()),
                    HostText.quote(e.message(), AgentLineLimit.MESSAGE_MAX_CHARS));
        }
    }

    /**
     * The first core.ready completes {@link #ready}. A later one comes from a new agent process when
     * its start time differs (the old one died and the guest's init started another on the same
     * port): nothing the old agent had open will ever be answered, so every open session and call
     * fails now instead of waiting.
     */
    private void onReady(Ready now) {
        holdNotices.agentHoldsOutput(now.supports(Ready.FEATURE_RELAY_FLOW));
        Ready before = lastReady;
        lastReady = now;
        if (ready.complete(now)) {
            return;
        }
        if (before == null || before.bootTimeNs() == now.bootTimeNs()) {
            // The first ready of a connection found ready by a ping (a port whose first ready was
            // lost), or the same agent saying it again: the one to compare later readies with.
            log.info("the agent at {} sent core.ready{}", peer, before == null ? "" : " again");
            return;
        }
        int failed = ids.abortAll(new AgentRestartedException("the agent at " + peer
                + " restarted; what it was running for this connection is lost"));
        log.info("the agent at {} restarted (its start time changed); failed {} open session(s) and call(s)",
                peer, failed);
    }
}
