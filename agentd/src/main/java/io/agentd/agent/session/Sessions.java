package io.agentd.agent.session;

import io.agentd.agent.LogText;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.session.cgroup.CgroupRefusal;
import io.agentd.agent.session.cgroup.SessionCgroup;
import io.agentd.agent.session.cgroup.SessionCgroups;
import io.agentd.agent.session.retain.OutputRetention;
import io.agentd.agent.session.retain.OutputRing;
import io.agentd.agent.session.retain.RetentionLimits;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.spawn.RequestedProfile;
import io.agentd.agent.spawn.SpawnFailure;
import io.agentd.agent.spawn.SpawnSpec;
import io.agentd.agent.spawn.Spawner;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.agent.transport.HostOutput;
import io.agentd.agent.loop.LogThrottle;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.FailureKind;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionAttached;
import io.agentd.protocol.payload.SessionDetached;
import io.agentd.protocol.payload.SessionListResult;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.Map;
import java.util.Set;
import java.util.function.LongPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Every exec session of the agent, of every host connection: the registry, and the answer to the
 * hosts' exec frames. A host names a session by its connection and its id ({@link SessionKey}); each
 * frame handler is given the {@link SessionHost} it came from, and answers there.
 * A request becomes a {@link SpawnSpec} ({@link SpawnSpec#from}), a started child becomes a
 * {@link Session}; exits are collected by the {@link Reaper}. Sessions see this class only as their
 * {@link SessionOwner}. Loop thread only.
 *
 * <p>Where a session's life begins and ends, and its cgroup with it: {@link #onExecRequest} makes
 * the cgroup and starts the child in it ({@code starter.start}, then {@code new Session}), the
 * owner's {@code finished} sees its exited and releases the cgroup, the reaper's sweep removes the
 * released ones once empty, and {@link #killOwned} ends the sessions of a lost host (or of a relay
 * client that left), cgroups killed.
 *
 * <p>Ownership: a session belongs to the connection and id its {@link SessionRoute} names, and the
 * {@link SessionTable} says where each one is (routed, detached, paused for backpressure):
 * {@link #detachOwned} takes a session out of its host's keys and {@link #onAttach} routes it again.
 *
 * <p>Sessions extension: every session has an agent-wide number ({@link SessionDirectory}). A
 * detached session reads on, its output kept in a ring ({@link SessionRoute}), and any connection
 * can attach to it on an id of its own ({@link #onAttach}): one host at a time. Under the kill
 * policy a detachable session (and one kept before) is detached instead of killed.
 */
public final class Sessions {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class);
    /** Kept output is replayed to an attacher in frames of at most this much. */
    private static final int REPLAY_PIECE_BYTES = 64 * 1024;

    private final Loop loop;
    private final Starter starter;
    private final SessionDefaults defaults;
    private final SessionIo io;
    /** The budgets, reaper, cgroups, records, retention and directory every session shares. */
    private final SharedParts parts;
    /** Stdin, resize and signals for a running session. */
    private final RunningSessionFrames runningFrames;
    /** The agent's shutdown: every session signalled, then waited for, within bounds. */
    private final SessionsShutdown shutdown;
    /** Exec requests: each one a started session, or its refusal or failed answer. */
    private final SessionLauncher launcher;
    /** Where sessions leave their host (detached) or the agent (exited, or killed with their host). */
    private final SessionEnds ends;
    /** Every session, routed or detached, and those paused for backpressure. */
    private final SessionTable table = new SessionTable();
    /** Finds the session a frame names, refusing it at the right level when there is none. */
    private final SessionLookup lookup = new SessionLookup(table);
    /**
     * Connections whose attach is running: a gone host's frames, dispatched by the hang-up that
     * attach ran, must not run the attacher's own hang-up under it (the attach would then route the
     * session to a connection already over, whose host-loss policy had run: held for ever).
     */
    private final Set<Long> attaching = new HashSet<>();
    private final SessionOwner owner = new Owner();
    private Runnable onIdle = () -> {};
    /** A host that lists again and again past the frame gets a line a minute. */
    private final LogThrottle cutListLog;
    /**
     * A host may attach and detach as often as it likes (as it may signal, RunningSessionFrames):
     * one line a second for each, and one when the second is over counting those left out.
     */
    private final LogThrottle attachLog;
    private final LogThrottle exitDroppedLog;
    private final LogThrottle detachLog;

    /** Starts a command: {@link Spawner#start}, or a test's stand-in. */
    @FunctionalInterface
    interface Starter {
        /** @param cgroupFd the session cgroup's directory, for the child to be created in, or -1 */
        Child start(SpawnSpec spec, int cgroupFd) throws SpawnFailure;
    }

    /** The most a session list answer takes while the host's or the agent's output queues are full. */
    static final int LIST_UNDER_PRESSURE_BYTES = 64 * 1024;
    /** Whether every host's output queues together are past the agent's budget. */
    private BooleanSupplier outputOverBudget = () -> false;

    /** Large answers (a session list) are cut to {@link #LIST_UNDER_PRESSURE_BYTES} while this says the hosts' queues are full. */
    public void limitLargeAnswersBy(BooleanSupplier agentOutputOverBudget) {
        this.outputOverBudget = agentOutputOverBudget;
    }

    public Sessions(Loop loop, Spawner spawner, SessionDefaults defaults) {
        this(loop, spawner::startSession, defaults, SessionIo.SYSTEM);
    }

    /** @param io the syscalls sessions and the reaper make (a test's script, or the kernel) */
    Sessions(Loop loop, Starter starter, SessionDefaults defaults, SessionIo io) {
        this.loop = loop;
        this.cutListLog = new LogThrottle(loop, 60_000, log, Level.WARN, "session lists cut to fit");
        this.attachLog = new LogThrottle(loop, 1_000, log, Level.INFO, "attaches");
        this.exitDroppedLog = new LogThrottle(loop, 1_000, log, Level.INFO, "exits dropped by a relay");
        this.detachLog = new LogThrottle(loop, 1_000, log, Level.INFO, "detaches");
        this.starter = starter;
        this.defaults = defaults;
        this.io = io;
        this.parts = new SharedParts(loop, defaults, io);
        this.runningFrames = new RunningSessionFrames(loop, table, lookup, parts.reaper(), io);
        this.shutdown = new SessionsShutdown(loop, table, parts, () -> onIdle.run());
        this.launcher = new SessionLauncher(loop, starter, io, table, parts, shutdown, owner);
        this.ends = new SessionEnds(table, lookup, parts, () -> onIdle.run());
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

    /** True when no session runs, of any host (detached ones included). */
    public boolean isEmpty() {
        return table.isEmpty();
    }

    public int count() {
        return table.size();
    }

    /** Every session, routed or detached, in the order they started. */
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

    public void onExecRequest(SessionHost from, long id, ExecRequest req) {
        Session s = launcher.startOrAnswer(from, id, req);
        if (s != null && req.startDetached()) {
            detachAtStart(s);
        }
        SessionKey key = new SessionKey(from.connection(), id);
        if (id != Protocol.CONTROL_ID && !table.isRouted(key)) {
            lookup.ended(key); // answered failed (or started detached): the host may have sent stdin behind it
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

    /**
     * core.session.list: every session of the agent, of every connection, answered on the request's id;
     * as many as fit one frame, with how many were left out.
     */
    public void onList(SessionHost from, long id) {
        if (id == Protocol.CONTROL_ID) {
            from.output().refuse(id, ErrorKind.INVALID_SESSION, MessageType.SESSION_LIST.wire(),
                    "id 0 is the control channel, not a request id");
            return;
        }
        if (table.isRouted(new SessionKey(from.connection(), id))) {
            // its terminal answer on that id would read as the end of the session to the host
            from.output().refuse(id, ErrorKind.INVALID_SESSION, MessageType.SESSION_LIST.wire(),
                    "id " + id + " is in use by a running session");
            return;
        }
        // Under pressure (this host reads nothing, or every host's queues together are past the
        // agent's budget) the answer is fitted to LIST_UNDER_PRESSURE_BYTES, the rest counted in
        // omitted: 62 hosts that read nothing, each asking for a 4 MiB list, took the agent past the
        // JVM's direct-memory limit, and the OutOfMemoryError ended it.
        boolean pressed = !from.output().acceptsOutput() || outputOverBudget.getAsBoolean();
        SessionListResult result = parts.directory().listResult(id, pressed ? LIST_UNDER_PRESSURE_BYTES : Protocol.MAX_FRAME_LEN);
        if (result.omitted() > 0 && cutListLog.take()) {
            log.warn("session list for connection {}: {} session(s) listed, the {} newest left out so that the"
                    + " answer fits {}", from.connection(), result.sessions().size(), result.omitted(),
                    pressed ? LIST_UNDER_PRESSURE_BYTES / 1024 + " KiB (hosts' output queues are full)" : "one frame");
        }
        from.output().send(new Frame(id, MessageType.SESSION_LIST_RESULT, result));
    }

    /**
     * core.session.attach: the connection becomes the session's host on {@code id}. One host at a
     * time: a session with a host attached (its first one or another attacher) is refused, never
     * shared. The answer is attached, the kept output from the offset asked, then live output and the
     * exit (at once, for a session that has exited).
     */
    public void onAttach(SessionHost from, long id, SessionAttach attach) {
        String type = MessageType.SESSION_ATTACH.wire();
        HostOutput host = from.output();
        if (id == Protocol.CONTROL_ID) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "id 0 is the control channel, not a session");
            return;
        }
        if (table.isRouted(new SessionKey(from.connection(), id))) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "id " + id + " is in use by a running session");
            return;
        }
        String number = Long.toUnsignedString(attach.session());
        Session s = parts.directory().get(attach.session());
        if (s != null && s.route.attached() && s.route.connection() != from.connection()
                && !attaching.contains(s.route.connection())) {
            // Its host may have been killed a moment ago, its hang-up waiting behind this frame in the
            // loop's turn: run now (the host-loss policy with it), this attach sees what it left.
            attaching.add(from.connection());
            try {
                if (s.route.hangUpIfGone()) {
                    s = parts.directory().get(attach.session());
                }
            } finally {
                attaching.remove(from.connection());
            }
        }
        if (s == null) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "session " + number + " is unknown or already collected");
            return;
        }
        if (s.route.attached()) {
            // On the same connection the holder may be this host on another id, or, behind a relay,
            // another client of the relay, which the agent cannot tell apart: it names neither.
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "session " + number + (s.route.connection() == from.connection()
                    ? " is attached already, on another id of this connection (or another client of its relay)"
                    : " is attached to another host"));
            return;
        }
        OutputRing ring = s.route.ring(); // a detached session always keeps its output
        long from0 = attach.from() == null ? ring.start() : attach.from();
        if (Long.compareUnsigned(from0, ring.end()) > 0) {
            host.refuse(id, ErrorKind.INVALID_PAYLOAD, type, "from " + Long.toUnsignedString(from0)
                    + " is past the end of the output (" + ring.end() + " bytes so far)");
            return;
        }
        long start = Math.max(from0, ring.start());
        long missed = start - from0;
        host.send(new Frame(id, MessageType.SESSION_ATTACHED,
                new SessionAttached(s.number, s.pid, s.isTty(), start, missed)));
        ring.replay(start, REPLAY_PIECE_BYTES, (stream, offset, data) -> host.send(new Frame(id,
                stream == OutputRing.STDERR ? MessageType.EXEC_STDERR : MessageType.EXEC_STDOUT, new ExecData(data))));
        Frame exit = s.route.heldExit();
        if (attachLog.take()) {
            log.info("session {} (number {}) attached by connection {} on id {}: output from offset {} ({} bytes"
                    + " missed){}", s.id, s.number, from.connection(), id, start, missed,
                    exit != null ? ", its exit delivered" : "");
        }
        s.route.retarget(from, id);
        parts.directory().keyTaken(s.route.key());
        if (exit != null) {
            s.route.send(new Frame(id, exit.type(), exit.payload())); // through the route: a relay may drop it too
            parts.reaper().rehost(SessionKey.hostless(s.number), s.route.key());
            parts.directory().exited(s);
            return;
        }
        parts.reaper().keyTaken(s.route.key());
        routed(s);
        s.rehost(attach.stdinWindow());
    }

    /**
     * The connection is closed for good: no relay notice can come on it any more, so the exits
     * delivered on it are let go now rather than after their doubt (they held the whole closed
     * connection in memory for it).
     */
    public void connectionClosed(long connection) {
        parts.directory().connectionClosed(connection);
        lookup.connectionClosed(connection);
    }

    /**
     * core.relay.exit.dropped: the relay in front of this connection dropped the exit sent on
     * {@code id}, its client having left. A session whose exit that was, and which would have run on
     * without its host, has the exit held for an attach again, and what it left running is filed
     * with it. No answer either way (a relay notice): an id whose exit is not open to it any more
     * (past the doubt's 60 s, its id taken since, a session killed with its host) is logged.
     */
    public void onExitDropped(SessionHost from, long id) {
        SessionKey key = new SessionKey(from.connection(), id);
        Session s = parts.directory().exitDropped(key);
        boolean logged = exitDroppedLog.take();
        if (s != null) {
            parts.reaper().rehost(key, SessionKey.hostless(s.number)); // the key was this session's last: nothing newer took it
            if (logged) {
                log.info("session {} (number {}): the relay dropped its exit (its client had left): held for an"
                        + " attach", id, s.number);
            }
        } else if (logged) {
            log.info("connection {}: the relay dropped an exit on id {} that is not held again (none was"
                    + " delivered there lately, or its session would not have outlived its host)", from.connection(),
                    id);
        }
    }

    /**
     * core.session.detach: the host leaves the session on {@code id} running without a host, as if
     * it had left the agent, and stays connected. The answer, detached, is the id's last frame: it
     * says where the output this host was sent ends, so an attach from that offset misses nothing.
     * A session that kept no output keeps it from here on, as under the policy keep.
     */
    public void onDetach(SessionHost from, long id) {
        Session s = lookup.live(from, id, MessageType.SESSION_DETACH);
        if (s == null) {
            return;
        }
        long offset = s.route.offset(); // everything before it is in this host's queue already
        ends.detach(List.of(s));
        from.output().send(new Frame(id, MessageType.SESSION_DETACHED, new SessionDetached(s.number, offset)));
        if (detachLog.take()) {
            log.info("session {} (number {}) detached by connection {} at output offset {}: it runs on, its output"
                    + " and exit kept for an attach", id, s.number, from.connection(), offset);
        }
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

    /** See {@link SessionTable#routed}. */
    boolean routed(Session s) {
        return table.routed(s);
    }

    // ---- shutdown and host loss ----

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

    /** What a session sees of this registry. */
    private final class Owner implements SessionOwner {
        @Override
        public SessionDefaults defaults() {
            return defaults;
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
