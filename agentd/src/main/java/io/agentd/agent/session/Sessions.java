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
import io.agentd.protocol.payload.SessionListResult;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every exec session of the agent, by id: the registry, and the answer to the host's exec frames.
 * A request becomes a {@link SpawnSpec} ({@link SpawnSpec#from}), a started child becomes a
 * {@link Session}; exits are collected by the {@link Reaper}. Sessions see this class only as their
 * {@link SessionOwner}. Loop thread only.
 *
 * <p>Where a session's life begins and ends, and its cgroup with it: {@link #onExecRequest} makes
 * the cgroup and starts the child in it ({@code starter.start}, then {@code new Session}), the
 * owner's {@code finished} sees its exited and releases the cgroup, the reaper's sweep removes the
 * released ones once empty, and {@link #abandonAll} ends every session of a lost host, cgroups
 * killed (but for detachable ones, which {@link #detachAll} keeps, as it keeps all under the policy
 * keep).
 *
 * <p>Sessions extension: every session has an agent-wide number ({@link SessionDirectory}); a session
 * whose host left keeps its output in a ring ({@link SessionOutput}) and can be attached to, from
 * this connection or a later one, on an id the attacher chooses ({@link #onAttach}).
 */
public final class Sessions {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class);
    private static final int READ_BYTES = 64 * 1024;
    /** Kept output is replayed to an attacher in frames of at most this much. */
    private static final int REPLAY_PIECE_BYTES = 64 * 1024;

    private final Loop loop;
    private final HostOutput host;
    private final Starter starter;
    private final SessionDefaults defaults;
    private final SessionIo io;
    /** Sessions by the id their attached host knows them by (a detached session has none). */
    private final Map<Long, Session> byId = new HashMap<>();
    /** Every session that has not sent its exited, attached or not. */
    private final List<Session> running = new ArrayList<>();
    private OutputRetention retention = RetentionLimits.DEFAULTS.newRetention();
    private SessionDirectory directory;
    private final StdinBudget stdinBudget;
    private final BulkPipes bulkPipes;
    private final Reaper reaper;
    /** Sessions that stopped reading output at the high-water mark; resumed together. */
    private final List<Session> pausedForBackpressure = new ArrayList<>();
    private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(READ_BYTES);
    private final SessionOwner owner = new Owner();
    private boolean shuttingDown;
    private Runnable onIdle = () -> {};
    private SessionGroupRecords groupRecords = SessionGroupRecords.none();
    private SessionCgroups cgroups = new SessionCgroups(null);

    /** Starts a command: {@link Spawner#start}, or a test's stand-in. */
    @FunctionalInterface
    interface Starter {
        /** @param cgroupProcsFd the session cgroup's cgroup.procs for the child to join, or -1 */
        Child start(SpawnSpec spec, int cgroupProcsFd) throws SpawnFailure;
    }

    public Sessions(Loop loop, HostOutput host, Spawner spawner, SessionDefaults defaults) {
        this(loop, host, spawner::start, defaults, SessionIo.SYSTEM);
    }

    /** @param io the syscalls sessions and the reaper make (a test's script, or the kernel) */
    Sessions(Loop loop, HostOutput host, Starter starter, SessionDefaults defaults, SessionIo io) {
        this.loop = loop;
        this.host = host;
        this.starter = starter;
        this.defaults = defaults;
        this.io = io;
        this.stdinBudget = new StdinBudget(defaults.stdinTotalLimit());
        this.bulkPipes = new BulkPipes(io);
        this.reaper = new Reaper(loop, io, () -> {
            groupRecords.pruneGone();
            cgroups.pruneEmpty();
        });
        this.directory = new SessionDirectory(loop, RetentionLimits.DEFAULTS.retainExitedMillis());
    }

    /** How much output is kept for sessions with no host, and how long exits wait (before any session). */
    public void setRetention(RetentionLimits limits) {
        this.retention = limits.newRetention();
        this.directory = new SessionDirectory(loop, limits.retainExitedMillis());
    }

    /** Starts the reaper's sweep. */
    public void start() {
        reaper.start();
    }

    /** Where the sessions' process groups are recorded for the next agent, should this one die. */
    public void setGroupRecords(SessionGroupRecords groupRecords) {
        this.groupRecords = groupRecords;
    }

    /** The session cgroups (none: sessions stay in the agent's cgroup, and limits are refused). */
    public void setCgroups(SessionCgroups cgroups) {
        this.cgroups = cgroups;
    }

    /** Runs whenever the last session has sent its terminal frame. */
    public void setOnIdle(Runnable onIdle) {
        this.onIdle = onIdle;
    }

    public boolean isEmpty() {
        return running.isEmpty();
    }

    public int count() {
        return running.size();
    }

    /** True while {@code id} is a session that has not sent its terminal frame. */
    public boolean isRunning(long id) {
        return byId.containsKey(id);
    }

    // ---- frames from the host ----

    public void onExecRequest(long id, ExecRequest req) {
        String type = MessageType.EXEC_REQUEST.wire();
        if (id == Protocol.CONTROL_ID) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "id 0 is the control channel, not a session");
            return;
        }
        if (byId.containsKey(id)) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "session " + id + " is running; request refused");
            return;
        }
        if (shuttingDown) {
            sendFailed(id, req, ExecFailed.of(FailureKind.OTHER, null, null, "the agent is shutting down", null));
            return;
        }
        SpawnSpec spec;
        try {
            spec = SpawnSpec.from(req, defaults);
        } catch (RequestedProfile.Refused e) {
            sendFailed(id, req, e.failed);
            return;
        } catch (IllegalArgumentException e) {
            sendFailed(id, req, ExecFailed.of(FailureKind.BAD_ARGS, null, null, e.getMessage(), null));
            return;
        }
        SessionCgroup cgroup;
        try {
            cgroup = cgroups.create(req.memoryMax(), req.pidsMax());
        } catch (CgroupRefusal r) {
            sendFailed(id, req, r.failure());
            return;
        }
        Child child;
        try {
            child = starter.start(spec, cgroup.procsFd());
        } catch (SpawnFailure f) {
            cgroups.release(cgroup);
            sendFailed(id, req, f.failure());
            return;
        } finally {
            cgroup.closeProcsFd();
        }
        groupRecords.started(child.pid());
        SessionOutput output = new SessionOutput(host, id, req.detachable(), retention);
        Session s = new Session(id, directory.nextNumber(), req.detachable(), output, child, spec, timeoutOf(req),
                req.stdinWindow(), cgroup, owner, loop, io);
        byId.put(id, s);
        running.add(s);
        directory.add(s);
        reaper.started(id, s);
    }

    private static Long timeoutOf(ExecRequest req) {
        Long t = req.timeoutMs();
        return t == null ? null : (t < 0 ? Long.MAX_VALUE : t); // u64 past 2^63: never, in practice
    }

    /** Answers {@code req} with {@code failed}, its quotes of the request's text cut short. */
    private void sendFailed(long id, ExecRequest req, ExecFailed reported) {
        ExecFailed failed = new ExecFailed(reported.kind(), reported.errno(), reported.errnoName(),
                LogText.requote(reported.message(), req.cmd(), req.cwd(), req.user()), reported.stage());
        // The cmd, not the message: the message quotes host text already, and is on the wire anyway.
        log.warn("session {} failed: kind={} stage={} errno={} cmd={}", id, failed.kind(), failed.stage(),
                failed.errnoName() != null ? failed.errnoName() : failed.errno(), LogText.quote(req.cmd()));
        TerminalFrames.sendFailed(host, id, failed);
    }

    public void onStdin(long id, byte[] data) {
        Session s = live(id, MessageType.EXEC_STDIN);
        if (s != null) {
            s.onStdin(data);
        }
    }

    public void onResize(long id, int rows, int cols) {
        Session s = live(id, MessageType.EXEC_RESIZE);
        if (s == null) {
            return;
        }
        if (!s.isTty()) {
            host.refuse(id, ErrorKind.INVALID_PAYLOAD, MessageType.EXEC_RESIZE.wire(),
                    "session " + id + " has no PTY to resize");
            return;
        }
        try {
            s.resize(rows, cols);
        } catch (OsException e) {
            log.warn("session {}: resize to {}x{} failed: {}", id, rows, cols, e.getMessage());
        }
    }

    public void onSignal(long id, int signal) {
        String type = MessageType.EXEC_SIGNAL.wire();
        if (signal < 1 || signal > 31) {
            host.refuse(id, ErrorKind.INVALID_PAYLOAD, type, "signal " + signal + " is outside 1..31");
            return;
        }
        Session s = byId.get(id);
        Integer lingering = s == null ? reaper.lingeringGroup(id) : null;
        if (s == null && lingering == null) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "no session " + id);
            return;
        }
        int pgid = s != null ? s.pid : lingering;
        int err = io.killGroup(pgid, signal);
        log.info("session {}: signal {} to process group {}{}", id, signal, pgid,
                err == 0 ? "" : ": " + Os.errnoName(err));
        if (s == null && err == LibC.ESRCH) {
            reaper.forgetLingering(id);
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "session " + id + " has ended and its processes are gone");
        }
    }

    private Session live(long id, MessageType type) {
        Session s = byId.get(id);
        if (s == null) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type.wire(), "no session " + id);
        }
        return s;
    }

    // ---- sessions extension: list and attach ----

    /** core.session.list: every session of the agent, answered on the request's id. */
    public void onList(long id) {
        if (id == Protocol.CONTROL_ID) {
            host.refuse(id, ErrorKind.INVALID_SESSION, MessageType.SESSION_LIST.wire(),
                    "id 0 is the control channel, not a request id");
            return;
        }
        host.send(new Frame(id, MessageType.SESSION_LIST_RESULT, new SessionListResult(directory.list())));
    }

    /**
     * core.session.attach: the host becomes the session's host on {@code id}. One host at a time: a
     * session with a host attached is refused, never shared. The answer is attached, the kept output
     * from the offset asked, then live output and the exit (at once, for a session that exited).
     */
    public void onAttach(long id, SessionAttach attach) {
        String type = MessageType.SESSION_ATTACH.wire();
        if (id == Protocol.CONTROL_ID) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "id 0 is the control channel, not a session");
            return;
        }
        if (byId.containsKey(id)) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "id " + id + " is in use by a running session");
            return;
        }
        String number = Long.toUnsignedString(attach.session());
        Session s = directory.get(attach.session());
        if (s == null) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "session " + number + " is unknown or already collected");
            return;
        }
        if (s.output.attached()) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "session " + number + " is attached to another host");
            return;
        }
        OutputRing ring = s.output.ring(); // a session with no host always keeps its output
        long from = attach.from() == null ? ring.start() : attach.from();
        if (Long.compareUnsigned(from, ring.end()) > 0) {
            host.refuse(id, ErrorKind.INVALID_PAYLOAD, type, "from " + Long.toUnsignedString(from)
                    + " is past the end of the output (" + ring.end() + " bytes so far)");
            return;
        }
        long start = Math.max(from, ring.start());
        long missed = start - from;
        host.send(new Frame(id, MessageType.SESSION_ATTACHED,
                new SessionAttached(s.number, s.pid, s.isTty(), start, missed)));
        ring.replay(start, REPLAY_PIECE_BYTES, (stream, offset, data) -> host.send(new Frame(id,
                stream == OutputRing.STDERR ? MessageType.EXEC_STDERR : MessageType.EXEC_STDOUT, new ExecData(data))));
        s.output.attach(host, id);
        log.info("session {} (number {}) attached on id {}: output from offset {} ({} bytes missed){}", s.id,
                s.number, id, start, missed, s.output.heldExit() != null ? ", its exit delivered" : "");
        Frame exit = s.output.heldExit();
        if (exit != null) {
            host.send(new Frame(id, exit.type(), exit.payload()));
            directory.collect(s);
            return;
        }
        byId.put(id, s);
        s.rehost(attach.stdinWindow());
    }

    // ---- backpressure ----

    /** The port drained below half the high-water mark: every paused session reads again. */
    public void onOutputResumed() {
        List<Session> resume = new ArrayList<>(pausedForBackpressure);
        pausedForBackpressure.clear();
        for (Session s : resume) {
            s.resumeOutput();
        }
    }

    // ---- shutdown and host loss ----

    /** SIGTERM to every session's group now, SIGKILL to what is left after the grace. */
    public void beginShutdown() {
        shuttingDown = true;
        running.forEach(Session::killCgroupAtEnd);
        signalAll(LibC.SIGTERM);
        loop.schedule(defaults.graceMillis(), () -> {
            signalAll(LibC.SIGKILL);
            cgroups.killAll();
        });
    }

    private void signalAll(int signal) {
        for (Session s : running) {
            s.signalGroup(signal);
        }
        int lingering = reaper.signalLingering(signal);
        if (!running.isEmpty() || lingering > 0) {
            log.info("signal {} to {} session(s) and {} lingering group(s)", signal, running.size(), lingering);
        }
    }

    /**
     * The host is gone and the policy kills its sessions: kill them all, send nothing; but a
     * detachable session, or one kept before (it has kept output), is detached instead: it runs on
     * and keeps its output for an attach.
     */
    public void abandonAll() {
        List<Session> abandoned = new ArrayList<>();
        int kept = 0;
        for (Session s : attachedHere()) {
            if (s.detachable || s.output.ring() != null) {
                detach(s);
                kept++;
            } else {
                abandoned.add(s);
            }
        }
        if (!abandoned.isEmpty() || kept > 0) {
            log.info("host gone: killing {} session(s), {} detachable one(s) kept running", abandoned.size(), kept);
        }
        for (Session s : abandoned) {
            s.abandon();
        }
        reaper.signalLingering(LibC.SIGKILL);
        if (kept == 0) {
            cgroups.killAll(); // what left the groups too
        } else {
            cgroups.killReleased(); // what left the groups of ended sessions; the kept ones run on
        }
        for (Session s : abandoned) {
            cgroups.release(s.cgroup);
            byId.remove(s.output.hostId(), s);
            running.remove(s);
            pausedForBackpressure.remove(s);
            directory.abandoned(s);
            reaper.forget(s); // its leader is reaped by the sweep as an orphan
        }
        reaper.forgetLingering();
        logStdinBudget();
        if (running.isEmpty()) {
            onIdle.run();
        }
    }

    /**
     * The host is gone and the policy keeps its sessions (a unix socket with --on-host-loss keep):
     * each runs on with no host, its output kept from here on, until an attach.
     */
    public void detachAll() {
        List<Session> sessions = attachedHere();
        for (Session s : sessions) {
            detach(s);
        }
        if (!sessions.isEmpty()) {
            log.info("host gone: {} session(s) kept running, their output kept for an attach", sessions.size());
        }
    }

    /** The running sessions whose host is this link's. */
    private List<Session> attachedHere() {
        List<Session> here = new ArrayList<>();
        for (Session s : running) {
            if (s.output.attached()) {
                here.add(s);
            }
        }
        return here;
    }

    private void detach(Session s) {
        byId.remove(s.output.hostId(), s);
        s.output.detach();
        pausedForBackpressure.remove(s);
        s.resumeOutput(); // nothing waits for a host now: the ring drops its oldest bytes instead
    }

    /** After a session ends: what it held of the stdin budget is back (the tests read this line). */
    private void logStdinBudget() {
        if (log.isDebugEnabled()) {
            log.debug("stdin budget: {} of {} bytes queued or granted over {} session(s)", stdinBudget.used(),
                    stdinBudget.limit(), running.size());
        }
    }

    /** What a session sees of this registry. */
    private final class Owner implements SessionOwner {
        @Override
        public HostOutput host() {
            return host;
        }

        @Override
        public SessionDefaults defaults() {
            return defaults;
        }

        @Override
        public StdinBudget stdinBudget() {
            return stdinBudget;
        }

        @Override
        public BulkPipes bulkPipes() {
            return bulkPipes;
        }

        @Override
        public ByteBuffer readBuffer() {
            return readBuffer;
        }

        @Override
        public void outputPaused(Session s) {
            pausedForBackpressure.add(s);
        }

        @Override
        public void leaderExitReadable(Session s) {
            reaper.reapLeader(s);
        }

        @Override
        public void finished(Session s) {
            if (s.output.attached()) {
                byId.remove(s.output.hostId(), s);
            }
            running.remove(s);
            pausedForBackpressure.remove(s);
            reaper.finished(s);
            cgroups.release(s.cgroup);
            directory.exited(s);
            logStdinBudget();
            if (running.isEmpty()) {
                onIdle.run();
            }
        }
    }
}
