package io.agentd.agent;

import io.agentd.agent.fs.FsService;
import io.agentd.agent.fs.FsSettings;
import io.agentd.agent.fs.FsWorkers;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.session.Sessions;
import io.agentd.agent.transport.HostConnections;
import io.agentd.agent.transport.HostEndpoint;
import io.agentd.agent.transport.HeldIds;
import io.agentd.agent.transport.HostLossPolicy;
import io.agentd.agent.transport.LargeFrameBudget;
import io.agentd.agent.transport.OutboundTotal;
import io.agentd.agent.loop.LogThrottle;
import io.agentd.agent.transport.HostEventLog;
import io.agentd.agent.transport.StalledInputLog;
import io.agentd.agent.transport.PortLink;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The agent as a whole: the host connections it serves (each a {@link Connection}: its own link,
 * ids, core.ready and sessions), the limit on socket connections, and shutdown, which any host (or
 * a signal) starts for the whole agent. What the connections share lives here (the budget of large
 * incoming frames) or in {@link Sessions} (the session table keyed by connection and id, the stdin
 * budget, bulk pipes, the reaper, cgroups, group records) or in {@link FsWorkers} (the threads
 * every connection's {@link FsService} runs file operations on). Loop thread only.
 */
public final class Agent implements HostConnections {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);
    /** After the last session's exited, how long the hosts get to read what is queued. */
    private static final long FLUSH_MILLIS = 5000;
    /** The default of {@code --max-connections}. */
    public static final int DEFAULT_MAX_CONNECTIONS = 64;

    /**
     * @param processStartNanos CLOCK_BOOTTIME when the agent process started (boot_time_ns)
     * @param mainStartNanos    CLOCK_BOOTTIME when main() began (init_time_ns)
     */
    public record StartTimes(long processStartNanos, long mainStartNanos) {}

    /**
     * How each connection's link is made.
     *
     * @param highWater       queued bytes at which a connection's sessions stop being read
     * @param stallWarnMillis how long a host may take nothing, with output queued, before a warning
     * @param frameTimeoutMillis how long a socket host may send no byte of a frame it began before
     *        it is dropped (--frame-timeout); 0 for never
     */
    public record LinkSettings(long highWater, long stallWarnMillis, long frameTimeoutMillis) {}

    private enum Phase { SERVING, STOPPING_SESSIONS, FLUSHING, STOPPED }

    private final Loop loop;
    private final Sessions sessions;
    private final StartTimes times;
    private final String version;
    private final LinkSettings linkSettings;
    private final int maxConnections;
    /** Large incoming frames held at once, over every connection's decoder. */
    private final LargeFrameBudget largeFrames = new LargeFrameBudget(LargeFrameBudget.DEFAULT_BYTES);
    /** The rate-limited lines of stalled input, over every connection (a slow-loris host opens many). */
    private final StalledInputLog stalledInput;
    /** What every host's link queues together, against one budget: memory stays bounded however many do not read. */
    private final OutboundTotal outbound = new OutboundTotal(OutboundTotal.DEFAULT_BUDGET);
    /** The lines of refused frames, failed requests and connections coming and going: one rate for every connection. */
    final HostEventLog hostEvents;
    /**
     * Clock steps (core.clock.sync): a host may send them in a loop; a line per interval, and one
     * counting those left out when it is over.
     */
    final LogThrottle clockLog;
    /**
     * The debug lines a host causes at its own rate: clock.sync offsets left alone, and a relay's
     * notices (a client gone, its output held or released). Throttled as the lines above, through
     * {@link LogThrottle#takeIfLogged}: with debug off they cost a level check, with it on a host that
     * sends them in a loop gets a line per interval and a count, not a line each on the serial console.
     */
    final LogThrottle clockLeftAloneLog;
    final LogThrottle relayNoticeLog;
    /** Every connection served now, by number. */
    private final Map<Long, Connection> connections = new LinkedHashMap<>();
    private long nextNumber = 1;
    /** Socket connections open now (a port's does not count against the limit). */
    private int socketConnections;
    private long activitySeq;
    private Phase phase = Phase.SERVING;
    /** A host sent core.shutdown (see {@link #shutdownForHost}). */
    private boolean hostAskedShutdown;
    /** The fs family's worker threads, shared by every connection; null: fs frames are refused. */
    private FsWorkers fsWorkers;
    private FsSettings fsSettings;
    /** Runs a worker's answer on the loop thread (the event loop's execute). */
    private Executor toLoop;

    public Agent(Loop loop, Sessions sessions, StartTimes times, String version, LinkSettings linkSettings,
            int maxConnections) {
        this.loop = loop;
        this.stalledInput = new StalledInputLog(loop);
        this.clockLog = new LogThrottle(loop, 10_000, LoggerFactory.getLogger(Connection.class), Level.INFO,
                "clock.sync lines (clock stepped, or not stepped)");
        this.clockLeftAloneLog = new LogThrottle(loop, 10_000, LoggerFactory.getLogger(Connection.class), Level.DEBUG,
                "clock.sync lines (clock left alone)");
        this.relayNoticeLog = new LogThrottle(loop, 1_000, LoggerFactory.getLogger(Connection.class), Level.DEBUG,
                "lines of relay notices (clients gone, output held or released)");
        this.sessions = sessions;
        this.times = times;
        this.version = version;
        this.linkSettings = linkSettings;
        this.maxConnections = maxConnections;
        this.hostEvents = new HostEventLog(loop);
        sessions.setOnIdle(this::onSessionsIdle);
        sessions.limitLargeAnswersBy(outbound::over);
        // No other host to serve meanwhile: the spawn stays on the loop (see SessionLauncher).
        sessions.spawnOnTheLoopWhenAlone(() -> connections.size() <= 1);
    }

    /**
     * Serves the fs family on every connection opened from now on (each its own {@link FsService}:
     * handles are owned per connection), on {@code workers}, whose answers {@code toLoop} hands back to
     * the loop thread; connections advertise {@code fs_ext}.
     */
    public void serveFs(FsWorkers workers, FsSettings settings, Executor toLoop) {
        this.fsWorkers = workers;
        this.fsSettings = settings;
        this.toLoop = toLoop;
        // A List's or ReadDir's answer (up to 3 MiB) starts only while the hosts' queues together
        // leave room (FsAnswerGate); posted, as the queues change in the middle of a link's write.
        workers.limitAnswersBy(outbound::over);
        outbound.onBackWithinBudget(() -> toLoop.execute(workers::answerRoomBack));
    }

    StartTimes startTimes() {
        return times;
    }

    String version() {
        return version;
    }

    /** A frame came from some host: the agent's activity count (core.touched), after it. */
    long noteActivity() {
        return ++activitySeq;
    }

    // ---- connections ----

    @Override
    public Connection accept(String peer, HostLossPolicy policy) {
        if (socketConnections >= maxConnections) {
            return null;
        }
        socketConnections++;
        return open(peer, policy, true);
    }

    @Override
    public HostEndpoint openPort(String device, HostLossPolicy policy) {
        return open(device, policy, false);
    }

    @Override
    public int maxConnections() {
        return maxConnections;
    }

    private Connection open(String describe, HostLossPolicy policy, boolean counted) {
        long number = nextNumber++;
        // The frame deadline is for sockets only: a port's guest clock can jump across a VM pause,
        // and its one host cannot reconnect anyway.
        long frameTimeout = counted ? linkSettings.frameTimeoutMillis() : 0;
        PortLink link = new PortLink(loop, linkSettings.highWater(), linkSettings.stallWarnMillis(), largeFrames,
                frameTimeout, stalledInput, hostEvents, outbound);
        HeldIds held = new HeldIds();
        FsService fs = fsWorkers == null ? null : FsService.create(toLoop, link, held, fsWorkers, fsSettings);
        link.name("connection " + number);
        Connection c = new Connection(number, describe, link, held, policy, this, sessions, fs, counted);
        connections.put(number, c);
        return c;
    }

    /** The connection is over (its host left a socket); its sessions have had the policy applied. */
    void closed(Connection c) {
        if (connections.remove(c.number()) == null) {
            return;
        }
        if (c.countsAgainstLimit()) {
            socketConnections--;
        }
        if (hostEvents.takeConnectionLine()) {
            log.info("{} closed; {} connection(s) open", c, connections.size());
        }
        if (phase == Phase.FLUSHING && allFlushed()) {
            stop("every frame written");
        }
    }

    /** The connections served now. */
    public List<Connection> connections() {
        return new ArrayList<>(connections.values());
    }

    // ---- shutdown ----

    /**
     * core.shutdown (from any host) or SIGTERM: SIGTERM every session's group, SIGKILL after the
     * grace, an exited for each, flush every connection, and the loop stops. True when this call
     * began the shutdown, false when one was already under way (Main's exit status tells a host's
     * shutdown from a signal's: a host's request counts whenever it came, {@link #shutdownForHost}).
     */
    public boolean shutdown(String reason) {
        if (phase != Phase.SERVING) {
            return false;
        }
        log.info("shutting down ({}): {} session(s) running", reason, sessions.count());
        phase = Phase.STOPPING_SESSIONS;
        sessions.beginShutdown();
        if (sessions.isEmpty()) {
            onSessionsIdle();
        }
        return true;
    }

    /**
     * core.shutdown from a host: {@link #shutdown}, and remembered even when a signal began the
     * shutdown already, so that the agent exits 0 and init powers the VM off as the host asked
     * (a session's SIGTERM to the agent a moment before must not turn that into a restart).
     */
    void shutdownForHost(String reason) {
        hostAskedShutdown = true;
        shutdown(reason);
    }

    /** A host asked for the shutdown (core.shutdown), whatever began it. */
    public boolean hostAskedShutdown() {
        return hostAskedShutdown;
    }

    /** Some connection's queue became empty. */
    void onFlushed() {
        if (phase == Phase.FLUSHING && allFlushed()) {
            stop("every frame written");
        }
    }

    /** Every connection's queue is empty, and no fs answer is still to come (a Write's last buffer on a worker). */
    private boolean allFlushed() {
        for (Connection c : connections.values()) {
            if (!c.link().isFlushed() || c.fsAnswersPending()) {
                return false;
            }
        }
        return true;
    }

    private long queuedBytes() {
        long q = 0;
        for (Connection c : connections.values()) {
            q += c.link().queuedBytes();
        }
        return q;
    }

    private void onSessionsIdle() {
        if (phase != Phase.STOPPING_SESSIONS) {
            return;
        }
        phase = Phase.FLUSHING;
        // Queued with the sessions' exits, flushed with them: the hosts are there to read the answers.
        connections.values().forEach(Connection::agentShuttingDown);
        if (allFlushed()) {
            stop("nothing left to send");
            return;
        }
        loop.schedule(FLUSH_MILLIS, () -> stop(queuedBytes() + " bytes the hosts did not read"));
    }

    private void stop(String why) {
        if (phase == Phase.STOPPED) {
            return;
        }
        phase = Phase.STOPPED;
        log.info("agent stopping: {}", why);
        // Atomic uploads in progress leave their destinations unchanged.
        connections.values().forEach(Connection::agentStopping);
        loop.stop();
    }
}
