package io.agentd.agent.session;

import io.agentd.agent.loop.EventLoop;
import io.agentd.agent.session.cgroup.CgroupRefusal;
import io.agentd.agent.session.cgroup.SessionCgroup;
import io.agentd.agent.session.cgroup.SessionCgroups;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.spawn.EnvBuilder;
import io.agentd.agent.spawn.Pty;
import io.agentd.agent.spawn.SpawnFailure;
import io.agentd.agent.spawn.SpawnSpec;
import io.agentd.agent.spawn.Spawner;
import io.agentd.agent.sys.ExitStatus;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.agent.transport.PortLink;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.FailureKind;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every exec session of the agent, by id and by leader pid, and the reaper: a sweep of
 * waitpid(-1, WNOHANG) that collects orphans handed to the agent (a child subreaper) and passes any
 * status that belongs to a session to that session, so no session's exit is lost to the sweep.
 * Loop thread only.
 */
public final class Sessions {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class);
    private static final int READ_BYTES = 64 * 1024;
    /**
     * A pipe that fills to its default 64 KiB is a bulk writer's: it is enlarged to this, so each
     * spliced frame carries up to this much (throughput about 1.2 -> 2.1 GiB/s in scripts/bench).
     */
    static final int BULK_PIPE_BYTES = 1024 * 1024;
    static final int DEFAULT_PIPE_BYTES = 64 * 1024;
    /** At most this many enlarged pipes at once: stalled bulk writers may pin 16 MiB of kernel memory, not more. */
    private static final int MAX_BULK_PIPES = 16;
    /** Orphans are reaped within this; no zombie outlives it by much. */
    static final long SWEEP_MILLIS = 500;
    /** Sweep interval while some session has no pidfd (old kernels): its exit is seen only here. */
    private static final long FAST_SWEEP_MILLIS = 50;

    private final EventLoop loop;
    private final PortLink link;
    private final Spawner spawner;
    private final SessionDefaults defaults;
    private final Map<Long, Session> byId = new HashMap<>();
    private final StdinBudget stdinBudget;
    private final Map<Integer, Session> byPid = new HashMap<>();
    /**
     * Sessions that sent exited while descendants lived on in their process group: a signal on the
     * id still reaches the group. Pruned by the sweep once the group is empty.
     */
    private final Map<Long, Integer> lingeringGroups = new HashMap<>();
    /** Sessions that stopped reading output at the high-water mark; resumed together. */
    private final List<Session> pausedForBackpressure = new ArrayList<>();
    private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(READ_BYTES);
    /** waitpid's out-parameter, reused (loop thread only). */
    private final int[] waitStatus = new int[1];
    /** Output pipes enlarged to {@link #BULK_PIPE_BYTES} and not yet closed. */
    private int bulkPipes;
    /** Live sessions whose leader has no pidfd (old kernels): while any, the sweep runs fast. */
    private int sessionsWithoutPidfd;
    private boolean shuttingDown;
    private Runnable onIdle = () -> {};
    private SessionGroupRecords groupRecords = SessionGroupRecords.none();
    private SessionCgroups cgroups = new SessionCgroups(null);

    public Sessions(EventLoop loop, PortLink link, Spawner spawner, SessionDefaults defaults) {
        this.loop = loop;
        this.link = link;
        this.spawner = spawner;
        this.defaults = defaults;
        this.stdinBudget = new StdinBudget(defaults.stdinTotalLimit());
    }

    /** Starts the reaper's sweep. */
    public void start() {
        loop.schedule(SWEEP_MILLIS, this::sweep);
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
            link.refuse(id, ErrorKind.INVALID_SESSION, type, "id 0 is the control channel, not a session");
            return;
        }
        if (byId.containsKey(id)) {
            link.refuse(id, ErrorKind.INVALID_SESSION, type, "session " + id + " is running; request refused");
            return;
        }
        if (shuttingDown) {
            sendFailed(id, req, ExecFailed.of(FailureKind.OTHER, null, null, "the agent is shutting down", null));
            return;
        }
        SpawnSpec spec;
        try {
            spec = new SpawnSpec(req.cmd(), req.args(), EnvBuilder.build(defaults.env(), req.env(), req.tty()),
                    req.cwd() != null ? req.cwd() : defaults.cwd(),
                    req.user() != null ? req.user() : defaults.user(),
                    req.tty(), req.rows(), req.cols(), req.rlimits(), defaults.restricted());
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
            child = spawner.start(spec, cgroup.procsFd());
        } catch (SpawnFailure f) {
            cgroups.release(cgroup);
            sendFailed(id, req, f.failure());
            return;
        } finally {
            cgroup.closeProcsFd();
        }
        lingeringGroups.remove(id);
        lingeringGroups.values().removeIf(pgid -> pgid == child.pid()); // that group is gone: pid reused
        groupRecords.started(child.pid());
        Session s = new Session(id, child, spec, timeoutOf(req), req.stdinWindow(), cgroup, this, loop);
        byId.put(id, s);
        byPid.put(s.pid, s);
        if (!s.hasPidfd()) {
            sessionsWithoutPidfd++;
        }
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
        TerminalFrames.sendFailed(link, id, failed);
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
            link.refuse(id, ErrorKind.INVALID_PAYLOAD, MessageType.EXEC_RESIZE.wire(),
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
            link.refuse(id, ErrorKind.INVALID_PAYLOAD, type, "signal " + signal + " is outside 1..31");
            return;
        }
        Session s = byId.get(id);
        Integer lingering = s == null ? lingeringGroups.get(id) : null;
        if (s == null && lingering == null) {
            link.refuse(id, ErrorKind.INVALID_SESSION, type, "no session " + id);
            return;
        }
        int pgid = s != null ? s.pid : lingering;
        int err = Os.killGroup(pgid, signal);
        log.info("session {}: signal {} to process group {}{}", id, signal, pgid,
                err == 0 ? "" : ": " + Os.errnoName(err));
        if (s == null && err == LibC.ESRCH) {
            lingeringGroups.remove(id);
            link.refuse(id, ErrorKind.INVALID_SESSION, type, "session " + id + " has ended and its processes are gone");
        }
    }

    private Session live(long id, MessageType type) {
        Session s = byId.get(id);
        if (s == null) {
            link.refuse(id, ErrorKind.INVALID_SESSION, type.wire(), "no session " + id);
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
        for (int pgid : lingeringGroups.values()) {
            Os.killGroup(pgid, signal);
        }
        if (!byId.isEmpty() || !lingeringGroups.isEmpty()) {
            log.info("signal {} to {} session(s) and {} lingering group(s)", signal, byId.size(),
                    lingeringGroups.size());
        }
    }

    /** The host is gone: nobody can read these sessions' output. Kill them all, send nothing. */
    public void abandonAll() {
        if (!byId.isEmpty()) {
            log.info("host gone: killing {} session(s)", byId.size());
        }
        for (Session s : byId.values()) {
            s.abandon();
        }
        for (int pgid : lingeringGroups.values()) {
            Os.killGroup(pgid, LibC.SIGKILL);
        }
        cgroups.killAll(); // what left the groups too
        byId.values().forEach(s -> cgroups.release(s.cgroup));
        byId.clear();
        byPid.clear(); // their leaders are reaped by the sweep as orphans
        lingeringGroups.clear();
        pausedForBackpressure.clear();
        sessionsWithoutPidfd = 0;
        logStdinBudget();
    }

    // ---- for Session ----

    PortLink link() {
        return link;
    }

    StdinBudget stdinBudget() {
        return stdinBudget;
    }

    SessionDefaults defaults() {
        return defaults;
    }

    /** The loop's one read buffer (direct), shared by all sessions: they read one at a time. */
    ByteBuffer readBuffer() {
        return readBuffer;
    }

    /** Enlarges a bulk writer's pipe if the budget allows; returns true when it did. */
    boolean enlargeBulkPipe(int fd) {
        if (bulkPipes >= MAX_BULK_PIPES || Os.libc().fcntl(fd, LibC.F_SETPIPE_SZ, BULK_PIPE_BYTES) < 0) {
            return false;
        }
        bulkPipes++;
        return true;
    }

    /** An enlarged pipe was closed. */
    void bulkPipeClosed() {
        bulkPipes--;
    }

    /** {@code s} stopped reading its output (the port is past the high-water mark). */
    void outputPaused(Session s) {
        pausedForBackpressure.add(s);
    }

    void setWindowSize(int masterFd, int rows, int cols) throws OsException {
        int err = Pty.setWindowSize(masterFd, rows, cols);
        if (err != 0) {
            throw new OsException("ioctl(TIOCSWINSZ)", err);
        }
    }

    /** The leader's pidfd is readable: reap exactly that pid. */
    void reapLeader(Session s) {
        int r = Os.libc().waitpid(s.pid, waitStatus, LibC.WNOHANG);
        if (r == s.pid) {
            byPid.remove(s.pid);
            s.onLeaderExit(waitStatus[0]);
        }
        // 0 or ECHILD: the sweep has it (or already handed its status over).
    }

    /** A session sent its terminal frame (exited: true; failed: false). */
    void finished(Session s, boolean exited) {
        byId.remove(s.id);
        // Only our own entry: the leader was reaped before the drain window, so its pid may already
        // belong to a newer session, whose exit status the sweep would otherwise reap unclaimed.
        byPid.remove(s.pid, s);
        pausedForBackpressure.remove(s);
        if (!s.hasPidfd()) {
            sessionsWithoutPidfd--;
        }
        if (exited && Os.groupAlive(s.pid)) {
            lingeringGroups.put(s.id, s.pid);
        }
        cgroups.release(s.cgroup);
        logStdinBudget();
        if (byId.isEmpty()) {
            onIdle.run();
        }
    }

    /** After a session ends: what it held of the stdin budget is back (the tests read this line). */
    private void logStdinBudget() {
        if (log.isDebugEnabled()) {
            log.debug("stdin budget: {} of {} bytes queued or granted over {} session(s)", stdinBudget.used(),
                    stdinBudget.limit(), byId.size());
        }
    }

    // ---- the reaper ----

    private void sweep() {
        while (true) {
            int pid = Os.libc().waitpid(-1, waitStatus, LibC.WNOHANG);
            if (pid <= 0) {
                break; // 0: children left but none exited; -1 ECHILD: no children at all
            }
            Session s = byPid.remove(pid);
            if (s != null) {
                s.onLeaderExit(waitStatus[0]);
            } else {
                log.debug("reaped pid {} ({})", pid, describe(waitStatus[0]));
            }
        }
        for (Iterator<Integer> it = lingeringGroups.values().iterator(); it.hasNext(); ) {
            if (!Os.groupAlive(it.next())) {
                it.remove();
            }
        }
        groupRecords.pruneGone();
        cgroups.pruneEmpty();
        loop.schedule(sessionsWithoutPidfd > 0 ? FAST_SWEEP_MILLIS : SWEEP_MILLIS, this::sweep);
    }

    private static String describe(int status) {
        try {
            ExitStatus e = ExitStatus.fromWaitStatus(status);
            return e.signal() == null ? "exit " + e.code() : "signal " + e.signal();
        } catch (IllegalArgumentException notAnExit) {
            return "status 0x" + Integer.toHexString(status);
        }
    }
}
