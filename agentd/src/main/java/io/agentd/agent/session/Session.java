package io.agentd.agent.session;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.Loop.Timer;
import io.agentd.agent.session.cgroup.SessionCgroup;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.spawn.SpawnSpec;
import io.agentd.agent.sys.ExitStatus;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.OsException;
import io.agentd.agent.transport.HostOutput;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.ResourceUsage;

/**
 * One exec session, from spawn to its terminal frame: the lifecycle. It owns the state, the
 * deadline (SIGTERM, then SIGKILL after the grace), the pause of its output for its host, and the
 * order of its end; the jobs are its parts, each with one:
 * <ul>
 *   <li>{@link SessionFds}: its fds in the loop, pipes or a PTY, and their release, each once; with
 *       an {@link OutputPump} per output and a {@link StdinWriter};
 *   <li>{@link DrainWindow}: output still read after the leader's exit, and the window's last read;
 *   <li>{@link LeaderGroup}: signals to the leader's process group while its id is still the session's;
 *   <li>{@link KilledCgroupWait}: exited held until a killed cgroup is empty;
 *   <li>{@link SessionLines}: the lines it writes about itself, under this class's logger.
 * </ul>
 * Everything runs on the loop thread.
 *
 * <p>Order on the wire: started (sent when the session is made: its command has been exec'd and its
 * fds are in the loop), then output, then exactly one exited. A command that could not start never
 * becomes a session: SessionLauncher sends its failed; so does a command whose fds the loop refused (the
 * constructor throws before started, and SessionLauncher kills the child). The leader's exit (pidfd,
 * or the reaper's sweep) starts the drain window: output still arriving is read until every output
 * fd is at EOF or the window ends.
 */
final class Session {
    private enum State { RUNNING, CLOSING, DONE }

    /** The id the session was started under (its name in logs; the route has its current one). */
    final long id;
    final int pid;
    /** The agent-wide session number (sessions extension): unique for the agent's life. */
    final long number;
    /** The request asked for a detachable session: it survives its host and keeps its output. */
    final boolean detachable;
    /**
     * What session.list shows of the request: its cmd and args cut as listed, and its user. Not the
     * spec: that holds the whole request text (up to a frame's 2 MiB of env and args) for as long as
     * the session and its held exit live, and a host's few dozen such sessions filled the heap.
     */
    final SessionDirectory.Listed listed;
    final long startedUnixMillis = System.currentTimeMillis();

    /** Where the session's frames go: the one field that says which host, under which id, or none. */
    final SessionRoute route;
    /** The session's own cgroup (SessionCgroup.NONE without cgroup2). */
    final SessionCgroup cgroup;
    private final Child child;
    private final SessionOwner owner;
    private final Loop loop;

    private final LeaderGroup group;
    private final SessionFds fds;
    // Made only when needed (the many-session figures count every object a session holds): the
    // window when the leader exits with an output still open, the wait when the end kills the cgroup.
    private DrainWindow drainWindow;
    private KilledCgroupWait killedCgroupWait;

    /** When the session started: its lines' duration_ms. */
    final long startNanos = System.nanoTime();
    private State state = State.RUNNING;
    /** The leader's exit, null until it is reaped. */
    private ExitStatus exit;
    private boolean outputPaused;
    /** Timeout or shutdown: everything in the cgroup dies before exited is sent. */
    private boolean killCgroupAtEnd;
    /** The agent is shutting down: a drain window's last read waits for no paused host. */
    private boolean shuttingDown;
    /** The deadline found the leader running and signalled its group ({@link #timedOut()} says what exited carries). */
    private boolean signalledAtDeadline;
    /** The leader caught, ignored or blocked SIGTERM when the deadline signalled it. */
    private boolean leaderTookSigterm;
    private Timer deadlineTimer;
    private Timer graceTimer;

    /** @param flowControl the host asked for stdin credit (exec.request stdin_window) */
    Session(SessionRoute route, Child child, SpawnSpec spec, Long timeoutMillis, boolean flowControl,
            SessionCgroup cgroup, SessionOwner owner, Loop loop, SessionIo io) {
        this(route, 0, false, child, spec, timeoutMillis, flowControl, cgroup, owner, loop, io);
    }

    /**
     * @param number     the agent-wide session number
     * @param detachable the request asked detachable: started carries the number
     */
    Session(SessionRoute route, long number, boolean detachable, Child child, SpawnSpec spec, Long timeoutMillis,
            boolean flowControl, SessionCgroup cgroup, SessionOwner owner, Loop loop, SessionIo io) {
        this.id = route.id();
        this.route = route;
        this.number = number;
        this.detachable = detachable;
        this.cgroup = cgroup;
        this.pid = child.pid();
        this.child = child;
        this.listed = SessionDirectory.Listed.of(spec);
        this.owner = owner;
        this.loop = loop;
        this.group = new LeaderGroup(pid, io);
        // Everything that can fail (epoll_ctl: ENOSPC past fs.epoll.max_user_watches, ENOMEM) comes
        // before started: a session the agent cannot watch is never announced (see SessionFds).
        fds = new SessionFds(id, child, flowControl, route, owner, loop, io, () -> outputPaused,
                this);
        if (timeoutMillis != null) {
            deadlineTimer = loop.schedule(timeoutMillis, this::onDeadline);
        }
        route.send(new Frame(id, MessageType.EXEC_STARTED, new ExecStarted(pid, detachable ? number : null)));
        SessionLines.started(this, spec, child.tty());
        fds.openStdin(); // the first credit (flow control) follows started
    }

    boolean hasPidfd() {
        return child.pidfd() >= 0;
    }

    boolean isTty() {
        return child.tty();
    }

    /** The agent is shutting down ({@link #agentShuttingDown}): a drain window's last read waits for no paused host. */
    boolean shuttingDown() {
        return shuttingDown;
    }

    /** The leader's exit once reaped, else null. */
    ExitStatus exit() {
        return exit;
    }

    /** Sent its exited (or abandoned): nothing more comes from it. */
    boolean isDone() {
        return state == State.DONE && (killedCgroupWait == null || !killedCgroupWait.waiting());
    }

    /**
     * Another host is attached now: its stdin takes that host's choice of flow control (credit the
     * last host did not use goes back to the budget; a window is granted afresh when asked), and
     * output paused for the last host's backpressure is read again.
     */
    void rehost(boolean flowControl) {
        fds.stdin.rehost(flowControl);
        resumeOutput();
    }

    /** Its host is gone and it runs on detached: the stdin credit that host did not use goes back. */
    void hostLeft() {
        fds.stdin.hostLeft();
    }

    /** Bytes the child read from stdin and wrote to its outputs, so far. */
    long bytesIn() {
        return fds.stdin.bytesWritten();
    }

    long bytesOut() {
        return fds.bytesOut();
    }

    // ---- output ----

    /** The leader's pidfd is readable (and no longer watched): its owner reaps it. */
    void onLeaderExitReadable() {
        owner.leaderExitReadable(this);
    }

    /**
     * An output has something to read (or hung up). One read per readiness event, so one chatty
     * child cannot starve the others.
     */
    void onOutputReadable(OutputPump out) {
        if (!out.isOpen() || state == State.DONE) {
            return;
        }
        if (!route.acceptsOutput()) {
            pauseOutput();
            return;
        }
        out.readOnce();
        if (state == State.CLOSING && !fds.anyOutputOpen()) {
            finish();
        }
    }

    /** The drain window ended: what is already in the outputs is taken, they are closed, and the session ends. */
    void lastDrainRead() {
        fds.drainAndCloseOutputs();
        finish();
    }

    /** Stops reading the session's output until its host reads again (the port's backpressure). */
    void pauseOutput() {
        if (!outputPaused) {
            outputPaused = true;
            fds.setOutputInterest();
            owner.outputPaused(this);
        }
    }

    /** The port drained: read output again. */
    void resumeOutput() {
        if (outputPaused && state != State.DONE) {
            outputPaused = false;
            fds.setOutputInterest();
            if (drainWindow != null) {
                drainWindow.hostReadsAgain();
            }
        }
    }

    // ---- stdin ----

    /** See {@link StdinWriter#refuseLaterFrames}. */
    void refuseLaterStdin(String why) {
        fds.stdin.refuseLaterFrames(why);
    }

    /** A stdin frame from the host; empty data is the end of input. */
    void onStdin(byte[] data) {
        fds.stdin.onStdin(data);
    }

    // ---- control ----

    /**
     * Sends a signal to the session's process group; returns 0 or the errno. Once the session let go
     * of its fds (its leader reaped, or abandoned), or its leader is reaped and its group was found
     * empty ({@link LeaderGroup}), it is a no-op answering ESRCH: what is left is the cgroup's to
     * kill, and the pid may name another process group by now.
     */
    int signalGroup(int signal) {
        return fds.released() ? LibC.ESRCH : group.signal(signal);
    }

    /**
     * The agent is shutting down: at the end, whatever is left in the session's cgroup is killed,
     * and the drain window's last read waits for no paused host ({@link DrainWindow#shutdown}).
     */
    void agentShuttingDown() {
        killCgroupAtEnd = true;
        shuttingDown = true;
        if (drainWindow != null) {
            drainWindow.shutdown();
        }
    }

    /**
     * The leader has exited and is not reaped yet: its zombie holds its pid, so the group id names
     * this session's group and no other. A session ending under a kill (its timeout, the shutdown)
     * with no cgroup to kill at its end gets SIGKILL to its group here: a leader that died of the
     * SIGTERM would otherwise end the session at once, cancelling the grace's SIGKILL, and a member
     * that ignores SIGTERM would run on. After the reap the group's id could, once the group is
     * empty, be another session's.
     */
    void beforeLeaderReaped() {
        if (killCgroupAtEnd && cgroup == SessionCgroup.NONE && exit == null) {
            group.killBeforeLeaderReaped();
        }
    }

    /** See {@link SessionFds#resize}. */
    void resize(int rows, int cols) throws OsException {
        fds.resize(rows, cols);
    }

    /**
     * The deadline. Only a leader still running is signalled: SIGTERM, SIGKILL after the grace. A
     * leader that has begun its exit by itself is left alone (a zombie whose exit the loop has not
     * handled yet: its pidfd's readiness waits in this round of the loop, or the sweep has not come
     * by; or one inside its exit, which a signal no longer changes): its exit follows as any other's,
     * its background processes left running ({@code exit} is set only once that exit is handled).
     * One that begins its exit between this look and the signal is told from a SIGTERM handler's
     * prompt exit by how it takes SIGTERM, read before the signal ({@link #timedOut()}).
     */
    private void onDeadline() {
        if (state != State.RUNNING || group.leaderExitBegun()) {
            return;
        }
        leaderTookSigterm = group.leaderTakesSigtermItself();
        signalGroup(LibC.SIGTERM);
        signalledAtDeadline = true;
        killCgroupAtEnd = true;
        SessionLines.timeoutReached(this);
        graceTimer = loop.schedule(owner.defaults().graceMillis(), () -> {
            if (state != State.DONE) {
                SessionLines.stillRunningAfterTheGrace(this);
                signalGroup(LibC.SIGKILL);
                cgroup.kill(0);
            }
        });
    }

    // ---- exit ----

    /** The sweep reaped the leader before this session was registered ({@link NewChildren}): its exit follows. */
    void leaderReapedBeforeRegistration() {
        group.leaderReaped();
    }

    /** The leader was reaped (by its pidfd or by the reaper's sweep). */
    void onLeaderExit(int waitStatus) {
        if (exit != null || state == State.DONE) {
            return;
        }
        exit = ExitStatus.fromWaitStatus(waitStatus);
        fds.releaseSlave(); // from now on the master reads EIO once the last descendant lets go of the terminal
        group.leaderReaped();
        if (deadlineTimer != null) {
            deadlineTimer.cancel();
        }
        if (state == State.RUNNING) {
            beginClosing();
        }
    }

    private void beginClosing() {
        state = State.CLOSING;
        if (!fds.anyOutputOpen()) {
            finish();
            return;
        }
        drainWindow = new DrainWindow(this, loop);
        drainWindow.open(owner.defaults().drainMillis());
    }

    private void finish() {
        state = State.DONE;
        cancelTimers();
        fds.stdin.dropUndelivered();
        fds.release();
        if (killCgroupAtEnd) {
            killedCgroupWait = new KilledCgroupWait(cgroup, loop);
            if (killedCgroupWait.killAndAwaitEmpty(this::sendExited)) {
                return;
            }
        }
        sendExited();
    }

    /**
     * Whether exited says timed_out: the one place that is decided. The deadline signalled the
     * leader while it ran ({@link #onDeadline}), and it ended by a signal, or with a code of its own
     * while it took SIGTERM itself (a handler's exit; or it ignored or blocked it and ran on). A
     * leader that left SIGTERM alone and still ends with a code had begun that exit before the
     * signal came (the signal would have ended it, its status the signal's): it ended by itself,
     * at the deadline, and is not timed out, though its group got the SIGTERM.
     */
    private boolean timedOut() {
        return signalledAtDeadline && (exit.signal() != null || leaderTookSigterm);
    }

    private void sendExited() {
        if (detachable || route.keptIfItsHostLeaves()) {
            // A host that closed a moment ago, its hang-up not yet heard, would take the exit with it
            // and the attach it left the session for would find nothing: its hang-up runs first (its
            // last frames, then the host-loss policy, which detaches this session), and the exit is
            // held. Only for a session the policy keeps: one it kills must not be ended from here.
            // While that hang-up waits for a command of the host's being started (its spawn runs off
            // the loop) or for the host's drop, hangUpIfGone does nothing and the exit waits too, and
            // asks again in a moment; so it does when the host's last frames, dispatched by the
            // hang-up, started such a command or a drop themselves: the exit then went to the host
            // that had left, and was lost.
            route.hangUpIfGone();
            if (route.hangUpPending()) {
                loop.schedule(HostOutput.PENDING_HANG_UP_RETRY_MILLIS, this::sendExited);
                return;
            }
        }
        ResourceUsage usage = cgroup.usage();
        boolean timedOut = timedOut();
        TerminalFrames.sendExited(route, id,
                new ExecExited(exit.code(), exit.signal(), timedOut ? Boolean.TRUE : null, usage));
        SessionLines.exited(this, exit, timedOut, usage);
        owner.finished(this);
    }

    /** The host is gone: kill the group and let go of everything without a word on the wire. */
    void abandon() {
        if (isDone()) {
            return;
        }
        state = State.DONE;
        if (killedCgroupWait != null) {
            killedCgroupWait.stop();
        }
        signalGroup(LibC.SIGKILL); // a no-op when finish released the fds already: the leader is reaped
        cgroup.kill(0);
        cancelTimers();
        fds.release();
        // No line of its own: SessionEnds.killOwned says it for all the host's sessions at once.
    }

    private void cancelTimers() {
        for (Timer t : new Timer[] {deadlineTimer, graceTimer}) {
            if (t != null) {
                t.cancel();
            }
        }
        if (drainWindow != null) {
            drainWindow.close();
        }
    }
}
