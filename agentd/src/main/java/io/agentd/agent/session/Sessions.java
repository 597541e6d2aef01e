package io.agentd.agent.session;

import io.agentd.agent.loop.EventLoop;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.session.cgroup.SessionCgroups;
import io.agentd.agent.session.retain.RetentionLimits;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.spawn.SpawnFailure;
import io.agentd.agent.spawn.SpawnSpec;
import io.agentd.agent.spawn.Spawner;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.SessionAttach;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.LongPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every exec session of the agent, of every host connection: the registry, and the answer to the
 * hosts' exec frames. A host names a session by its connection and its id ({@link SessionKey}); each
 * frame handler is given the {@link SessionHost} it came from, and answers there. This class is what
 * the connection calls; each concern is a class of its own, which it hands the frame to. Sessions see
 * this class only as their {@link SessionOwner}. Loop thread only.
 *
 * <p>Where a session's life begins and ends, and its cgroup with it: {@link SessionLauncher} makes
 * the cgroup and starts the child in it ({@code starter.start}, then {@code new Session}), the
 * owner's {@code finished} ({@link SessionEnds#finished}) sees its exited and releases the cgroup,
 * the reaper's sweep removes the released ones once empty, and {@link #killOwned} ends the sessions
 * of a lost host (or of a relay client that left), cgroups killed; exits are collected by the
 * {@link Reaper}.
 *
 * <p>Ownership: a session belongs to the connection and id its {@link SessionRoute} names, and the
 * {@link SessionTable} says where each one is (routed, detached, paused for backpressure):
 * {@link #detachOwned} takes a session out of its host's keys and {@link #onAttach} routes it again.
 * Backpressure is per connection: a host that does not read pauses only its own sessions, and its
 * drain resumes only those.
 *
 * <p>Sessions extension: every session has an agent-wide number ({@link SessionDirectory}). A
 * detached session reads on, its output kept in a ring ({@link SessionRoute}), and any connection
 * can attach to it on an id of its own ({@link Attachments}): one host at a time. Under the kill
 * policy a detachable session (and one kept before) is detached instead of killed.
 *
 * <p>The parts: {@link SessionTable} (where each session is), {@link SessionLookup} (the session a
 * frame names, or its refusal), {@link SharedParts} (what every session shares),
 * {@link SessionLauncher} (exec requests), {@link RunningSessionFrames} (stdin, resize, signals),
 * {@link SessionListing} and {@link Attachments} (the sessions extension), {@link SessionEnds}
 * (exits, detaches and host loss) and {@link SessionsShutdown}.
 */
public final class Sessions {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class);

    /** Every session, routed or detached, and those paused for backpressure. */
    private final SessionTable table = new SessionTable();
    /** Finds the session a frame names, refusing it at the right level when there is none. */
    private final SessionLookup lookup = new SessionLookup(table);
    private final SessionOwner owner = new Owner();
    /** The defaults, budgets, reaper, cgroups, records, retention and directory every session shares. */
    private final SharedParts parts;
    /** Exec requests: each one a started session, or its refusal or failed answer. */
    private final SessionLauncher launcher;
    /** Stdin, resize and signals for a running session. */
    private final RunningSessionFrames runningFrames;
    /** core.session.list. */
    private final SessionListing listing;
    /** core.session.attach and detach, and the relay's exit dropped: a session moving between hosts. */
    private final Attachments attachments;
    /** Where sessions leave their host (detached) or the agent (exited, or killed with their host). */
    private final SessionEnds ends;
    /** The agent's shutdown: every session signalled, then waited for, within bounds. */
    private final SessionsShutdown shutdown;
    private Runnable onIdle = () -> {};

    /** Starts a command: {@link Spawner#start}, or a test's stand-in. */
    @FunctionalInterface
    interface Starter {
        /** @param cgroupFd the session cgroup's directory, for the child to be created in, or -1 */
        Child start(SpawnSpec spec, int cgroupFd) throws SpawnFailure;
    }

    /** The agent's: each spawn on the spawner thread ({@link OffLoopSpawns}), its outcome back on {@code loop}. */
    public Sessions(EventLoop loop, Spawner spawner, SessionDefaults defaults) {
        this(loop, spawner::startSession, new OffLoopSpawns(loop::execute), defaults, SessionIo.SYSTEM);
    }

    /**
     * Each spawn on the caller's thread ({@link SpawnRunner#INLINE}): a scripted loop's test.
     *
     * @param io the syscalls sessions and the reaper make (a test's script, or the kernel)
     */
    Sessions(Loop loop, Starter starter, SessionDefaults defaults, SessionIo io) {
        this(loop, starter, SpawnRunner.INLINE, defaults, io);
    }

    Sessions(Loop loop, Starter starter, SpawnRunner spawns, SessionDefaults defaults, SessionIo io) {
        this.parts = new SharedParts(loop, defaults, io);
        this.shutdown = new SessionsShutdown(loop, table, parts, this::spawnsInFlight, () -> onIdle.run());
        this.launcher = new SessionLauncher(loop, starter, spawns, io, table, parts, shutdown, owner);
        this.runningFrames = new RunningSessionFrames(loop, table, lookup, parts.reaper(), io);
        this.listing = new SessionListing(loop, table, parts);
        this.ends = new SessionEnds(table, lookup, parts, this::idleIfNothingLeft);
        this.attachments = new Attachments(loop, table, lookup, parts, ends);
    }

    /** Rings of kept output open, over all sessions (tests). */
    int retainedRings() {
        return parts.retention().rings();
    }

    /** How much output is kept for sessions with no host, and how long exits wait (before any session). */
    public void setRetention(RetentionLimits limits) {
        parts.setRetention(limits);
    }

    /** Starts the reaper's sweep. */
    public void start() {
        parts.reaper().start();
    }

    /** Where the sessions' process groups are recorded for the next agent, should this one die. */
    public void setGroupRecords(SessionGroupRecords groupRecords) {
        parts.setGroupRecords(groupRecords);
    }

    /** The session cgroups (none: sessions stay in the agent's cgroup, and limits are refused). */
    public void setCgroups(SessionCgroups cgroups) {
        parts.setCgroups(cgroups);
    }

    /** Runs whenever the last session has sent its terminal frame. */
    public void setOnIdle(Runnable onIdle) {
        this.onIdle = onIdle;
    }

    /**
     * A spawn asked for while no session runs, none is in flight and {@code requesterAlone} says the
     * requesting host is the agent's only one runs on the loop ({@link SessionLauncher}'s
     * requesterAlone); every other spawn on the spawner thread.
     */
    public void spawnOnTheLoopWhenAlone(BooleanSupplier requesterAlone) {
        launcher.spawnOnTheLoopWhenAlone(requesterAlone);
    }

    /** See {@link SessionListing#limitLargeAnswersBy}. */
    public void limitLargeAnswersBy(BooleanSupplier agentOutputOverBudget) {
        listing.limitLargeAnswersBy(agentOutputOverBudget);
    }

    private int spawnsInFlight() {
        return launcher.spawnsInFlight();
    }

    /** True when no session runs, of any host (detached ones included), and none is being started. */
    public boolean isEmpty() {
        return table.isEmpty() && spawnsInFlight() == 0;
    }

    public int count() {
        return table.size();
    }

    /** Every session, routed or detached, in the order they started (tests). */
    List<Session> all() {
        return new ArrayList<>(table.all());
    }

    /** How many sessions run for connection {@code connection}. */
    public int count(long connection) {
        return table.count(connection);
    }

    /** True while {@code id} of {@code host}'s connection is a session that has not sent its terminal frame. */
    public boolean isRunning(SessionHost host, long id) {
        return table.isRouted(new SessionKey(host.connection(), id));
    }

    // ---- frames from the host ----

    /** As {@link #onExecRequest(SessionHost, long, ExecRequest, Runnable)}, with nothing to run after. */
    public void onExecRequest(SessionHost from, long id, ExecRequest req) {
        onExecRequest(from, id, req, () -> {});
    }

    /**
     * Starts the command {@code req} asks for, or answers it refused or failed; {@code answered} runs
     * once started or failed has been queued for the host, on the loop thread: before this returns
     * when the request was refused before its spawn, else in a later turn, after the spawn
     * ({@link SessionLauncher#start}). Meanwhile the caller holds the host's later frames.
     */
    public void onExecRequest(SessionHost from, long id, ExecRequest req, Runnable answered) {
        launcher.start(from, id, req, s -> {
            try {
                afterStart(from, id, req, s);
            } finally {
                answered.run();
            }
        });
    }

    private void afterStart(SessionHost from, long id, ExecRequest req, Session s) {
        if (s != null && req.startDetached()) {
            detachAtStart(s);
        }
        SessionKey key = new SessionKey(from.connection(), id);
        if (id != Protocol.CONTROL_ID && !table.isRouted(key)) {
            lookup.ended(key); // answered failed (or started detached): the host may have sent stdin behind it
        }
        if (s == null && shutdown.begun()) {
            idleIfNothingLeft(); // the last start the shutdown waited for may have failed
        }
    }

    /**
     * Idle once no session runs and no spawn is in flight: the last session gone with one on its way
     * is not (its outcome would find the agent stopped).
     */
    private void idleIfNothingLeft() {
        if (isEmpty()) {
            onIdle.run();
        }
    }

    /**
     * start_detached: the host wanted started and nothing more, so it leaves the session now, as if it
     * had left the agent: its output from byte 0 goes only to the ring, its exit is held for an attach
     * and its id is free again. Left attached until the host closed its connection, a short command's
     * exit went to that host, which had stopped listening, and collected the session unseen. Nothing
     * has been read from the child yet (its fds are read from the next turn of the loop on).
     */
    private void detachAtStart(Session s) {
        ends.detach(List.of(s));
        log.info("session {} (number {}) detached at its start, as its request asked: its output and exit are kept"
                + " for an attach", s.id, s.number);
    }

    public void onStdin(SessionHost from, long id, byte[] data) {
        runningFrames.onStdin(from, id, data);
    }

    /** See {@link RunningSessionFrames#onStdinRefusedByCodec}. */
    public void onStdinRefusedByCodec(SessionHost from, long id) {
        runningFrames.onStdinRefusedByCodec(from, id);
    }

    /** See {@link RunningSessionFrames#onInputLost}. */
    public void onInputLost(SessionHost from) {
        runningFrames.onInputLost(from);
    }

    public void onResize(SessionHost from, long id, int rows, int cols) {
        runningFrames.onResize(from, id, rows, cols);
    }

    public void onSignal(SessionHost from, long id, int signal) {
        runningFrames.onSignal(from, id, signal);
    }

    // ---- sessions extension: list and attach ----

    /** See {@link SessionListing#onList}. */
    public void onList(SessionHost from, long id) {
        listing.onList(from, id);
    }

    /** See {@link Attachments#onAttach}. */
    public void onAttach(SessionHost from, long id, SessionAttach attach) {
        onAttach(from, id, attach, () -> {});
    }

    /** See {@link Attachments#onAttach}: {@code answered} runs once the attach is answered; meanwhile the caller holds the host's later frames. */
    public void onAttach(SessionHost from, long id, SessionAttach attach, Runnable answered) {
        attachments.onAttach(from, id, attach, answered);
    }

    /** See {@link Attachments#onExitDropped}. */
    public void onExitDropped(SessionHost from, long id) {
        attachments.onExitDropped(from, id);
    }

    /** See {@link Attachments#onDetach}. */
    public void onDetach(SessionHost from, long id) {
        attachments.onDetach(from, id);
    }

    // ---- backpressure ----

    /**
     * {@code host}'s link drained below half its high-water mark, or its relay released held ids:
     * the sessions it paused read again (those of other connections wait for their own link,
     * detached ones for a host, and those whose ids the relay still holds for its release).
     */
    public void onOutputResumed(SessionHost host) {
        table.resumeFor(host);
    }

    /** See {@link SessionTable#routed} (tests: {@link #onAttach} routes a session itself). */
    boolean routed(Session s) {
        return table.routed(s);
    }

    // ---- shutdown, host loss and closed connections ----

    /** See {@link SessionsShutdown#begin}. */
    public void beginShutdown() {
        shutdown.begin();
    }

    /** See {@link SessionEnds#killOwned}. */
    public void killOwned(long connection, LongPredicate ids) {
        ends.killOwned(connection, ids);
    }

    /** See {@link SessionEnds#detachOwned}. */
    public void detachOwned(long connection, LongPredicate ids) {
        ends.detachOwned(connection, ids);
    }

    /** See {@link SessionEnds#keptForTheHostsReturn}. */
    public void keptForTheHostsReturn(long connection) {
        ends.keptForTheHostsReturn(connection);
    }

    /** See {@link SessionDirectory#hostReturned}: a port's host is back on {@code connection}. */
    public void hostReturned(long connection) {
        parts.directory().hostReturned(connection);
    }

    /** The defaults every session starts from: core.ready tells hosts its grace and drain window. */
    public SessionDefaults defaults() {
        return parts.defaults();
    }

    /**
     * The connection is closed for good: no relay notice can come on it any more, so the exits
     * delivered on it are let go now rather than after their doubt (they held the whole closed
     * connection in memory for it), and the ends of its sessions need no remembering.
     */
    public void connectionClosed(long connection) {
        parts.directory().connectionClosed(connection);
        lookup.connectionClosed(connection);
    }

    /** What a session sees of this registry. */
    private final class Owner implements SessionOwner {
        @Override
        public SessionDefaults defaults() {
            return parts.defaults();
        }

        @Override
        public StdinBudget stdinBudget() {
            return parts.stdinBudget();
        }

        @Override
        public BulkPipes bulkPipes() {
            return parts.bulkPipes();
        }

        @Override
        public BulkCoalescing bulkCoalescing() {
            return parts.bulkCoalescing();
        }

        @Override
        public ByteBuffer readBuffer() {
            return parts.readBuffer();
        }

        @Override
        public void outputPaused(Session s) {
            table.paused(s);
        }

        @Override
        public void leaderExitReadable(Session s) {
            parts.reaper().reapLeader(s);
        }

        @Override
        public void finished(Session s) {
            ends.finished(s);
        }
    }
}
