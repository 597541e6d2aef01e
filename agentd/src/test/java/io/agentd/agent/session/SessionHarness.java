package io.agentd.agent.session;

import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.session.cgroup.SessionCgroup;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.spawn.Profile;
import io.agentd.agent.spawn.SpawnSpec;
import io.agentd.agent.transport.RecordingHost;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * One session driven through its seams: a scripted loop, scripted syscalls, a recording host and
 * an owner that reaps through the script. Pipes: stdin 10, stdout 11, stderr 12, pidfd 13; a PTY
 * master is fd 20. The leader is pid 100.
 */
final class SessionHarness implements SessionOwner {
    static final int PID = 100;
    static final int STDIN = 10;
    static final int STDOUT = 11;
    static final int STDERR = 12;
    static final int PIDFD = 13;
    static final int MASTER = 20;
    /** The agent's own hold on a PTY's slave (Child.ptySlaveFd). */
    static final int SLAVE = 21;
    static final long DRAIN_MILLIS = 250;
    static final long GRACE_MILLIS = 2000;

    final ScriptedLoop loop = new ScriptedLoop();
    final ScriptedIo io = new ScriptedIo();
    final RecordingHost host = new RecordingHost();
    final SessionDefaults defaults = new SessionDefaults(null, null, List.of(), Profile.DEFAULT, DRAIN_MILLIS, GRACE_MILLIS,
            1024, 4096, 512);
    final StdinBudget budget = new StdinBudget(defaults.stdinTotalLimit());
    final BulkPipes bulkPipes = new BulkPipes(io);
    /** Never waits in a scripted run: its clock moves a second per look, so no pipe is ever streaming. */
    final BulkCoalescing coalescing = new BulkCoalescing(secondsClock(), () -> { });

    private static java.util.function.LongSupplier secondsClock() {
        java.util.concurrent.atomic.AtomicLong seconds = new java.util.concurrent.atomic.AtomicLong();
        return () -> seconds.addAndGet(1_000_000_000L);
    }
    final ByteBuffer readBuffer = ByteBuffer.allocateDirect(64 * 1024);
    final List<Session> paused = new ArrayList<>();
    final List<Session> finished = new ArrayList<>();
    /** Thrown (once) by the next {@link #finished}, as a bug under a session's exit would be. */
    RuntimeException failFinished;

    static Child pipes() {
        return new Child(PID, PIDFD, STDIN, STDOUT, STDERR, false);
    }

    static Child pty() {
        return new Child(PID, PIDFD, MASTER, MASTER, -1, true, SLAVE);
    }

    static SpawnSpec spec(boolean tty) {
        return new SpawnSpec("sh", List.of(), List.of("PATH=/bin"), null, null, tty,
                24, 80, List.of(), Profile.DEFAULT);
    }

    Session start(Child child, Long timeoutMillis, boolean flowControl) {
        // No cgroup: the process-group fallback, which the scripted syscalls follow.
        return start(child, timeoutMillis, flowControl, SessionCgroup.NONE);
    }

    Session start(Child child, Long timeoutMillis, boolean flowControl, SessionCgroup cgroup) {
        return new Session(new SessionRoute(new SessionHost(1, host), 1), child, spec(child.tty()), timeoutMillis,
                flowControl, cgroup, this, loop, io);
    }

    Session startPipes() {
        return start(pipes(), null, false);
    }

    public RecordingHost host() {
        return host;
    }

    @Override
    public SessionDefaults defaults() {
        return defaults;
    }

    @Override
    public StdinBudget stdinBudget() {
        return budget;
    }

    @Override
    public BulkCoalescing bulkCoalescing() {
        return coalescing;
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
        paused.add(s);
    }

    @Override
    public void leaderExitReadable(Session s) {
        int[] status = new int[1];
        if (io.waitpid(s.pid, status) == s.pid) {
            s.onLeaderExit(status[0]);
        }
    }

    @Override
    public void finished(Session s) {
        finished.add(s);
        RuntimeException fail = failFinished;
        failFinished = null;
        if (fail != null) {
            throw fail;
        }
    }
}
