package io.agentd.agent.session;

import io.agentd.agent.LogText;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.session.cgroup.CgroupRefusal;
import io.agentd.agent.session.cgroup.SessionCgroup;
import io.agentd.agent.session.cgroup.SessionCgroups;
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
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.FailureKind;
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
 * killed.
 */
public final class Sessions {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class);
    private static final int READ_BYTES = 64 * 1024;

    private final Loop loop;
    private final HostOutput host;
    private final Starter starter;
    private final SessionDefaults defaults;
    private final SessionIo io;
    private final Map<Long, Session> byId = new HashMap<>();
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
        return byId.isEmpty();
    }

    public int count() {
        return byId.size();
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
        Session s = new Session(id, child, spec, timeoutOf(req), req.stdinWindow(), cgroup, owner, loop, io);
        byId.put(id, s);
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
        byId.values().forEach(Session::killCgroupAtEnd);
        signalAll(LibC.SIGTERM);
        loop.schedule(defaults.graceMillis(), () -> {
            signalAll(LibC.SIGKILL);
            cgroups.killAll();
        });
    }

    private void signalAll(int signal) {
        for (Session s : byId.values()) {
            s.signalGroup(signal);
        }
        int lingering = reaper.signalLingering(signal);
        if (!byId.isEmpty() || lingering > 0) {
            log.info("signal {} to {} session(s) and {} lingering group(s)", signal, byId.size(), lingering);
        }
    }

    /** The host is gone and the policy kills its sessions: kill them all, send nothing. */
    public void abandonAll() {
        if (!byId.isEmpty()) {
            log.info("host gone: killing {} session(s)", byId.size());
        }
        for (Session s : byId.values()) {
            s.abandon();
        }
        reaper.signalLingering(LibC.SIGKILL);
        cgroups.killAll(); // what left the groups too
        byId.values().forEach(s -> cgroups.release(s.cgroup));
        byId.clear();
        reaper.forgetAll(); // their leaders are reaped by the sweep as orphans
        pausedForBackpressure.clear();
        logStdinBudget();
    }

    /** After a session ends: what it held of the stdin budget is back (the tests read this line). */
    private void logStdinBudget() {
        if (log.isDebugEnabled()) {
            log.debug("stdin budget: {} of {} bytes queued or granted over {} session(s)", stdinBudget.used(),
                    stdinBudget.limit(), byId.size());
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
            byId.remove(s.id);
            pausedForBackpressure.remove(s);
            reaper.finished(s);
            cgroups.release(s.cgroup);
            logStdinBudget();
            if (byId.isEmpty()) {
                onIdle.run();
            }
        }
    }
}
