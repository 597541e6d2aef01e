package io.agentd.agent.session;

import io.agentd.agent.loop.EventLoop;
import io.agentd.agent.loop.EventLoop.Registration;
import io.agentd.agent.loop.EventLoop.Timer;
import io.agentd.agent.session.cgroup.SessionCgroup;
import io.agentd.agent.session.cgroup.SessionCgroups;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.spawn.SpawnSpec;
import io.agentd.agent.sys.ExitStatus;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.ExecStdinCredit;
import io.agentd.protocol.payload.ResourceUsage;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One exec session, from spawn to its terminal frame. Everything runs on the loop thread.
 *
 * <p>Order on the wire: started (sent when the session is made: its command has been exec'd), then
 * output, then exactly one exited. A command that could not start never becomes a session: Sessions
 * sends its failed. The leader's exit (pidfd, or the reaper's sweep) starts the drain window: output
 * still arriving is read until every output fd is at EOF or the window ends.
 */
final class Session {
    private static final Logger log = LoggerFactory.getLogger(Session.class);
    /** At the end of the drain window, at most this much more is read from each fd (a pipe's worth). */
    private static final int FINAL_DRAIN_MAX = 1024 * 1024;
    /** Largest frame of output left in a pipe to be spliced to the port (see OutboundQueue). */
    private static final int SPLICE_MAX = Sessions.BULK_PIPE_BYTES;
    /**
     * Less than this is read and copied: a splice costs four syscalls (FIONREAD, splice, and taking
     * the pipe out of and back into epoll) against one read, which only pays for bulk output.
     */
    private static final int SPLICE_MIN = 16 * 1024;

    private enum State { RUNNING, CLOSING, DONE }

    /** One output fd (stdout or stderr; a PTY has only stdout). */
    private final class Output {
        final int fd;
        final MessageType type;
        final Registration reg;
        boolean open;
        /**
         * Bytes of this pipe's output queued for the port and still in the pipe (one frame at most):
         * while non-zero the pipe is the queue's to read, and the session does not watch it.
         */
        int announced;
        /** The last read or splice moved at least SPLICE_MIN bytes: worth asking how much is waiting. */
        boolean bulk;
        /** Enlarged for bulk output (Sessions.enlargeBulkPipe), or refused: tried once. */
        boolean bulkPipe;
        boolean bulkTried;

        Output(int fd, MessageType type, Registration reg) {
            this.fd = fd;
            this.type = type;
            this.reg = reg;
            this.open = true;
        }
    }

    final long id;
    final int pid;
    private final Child child;
    private final SpawnSpec spec;
    private final Sessions owner;
    private final EventLoop loop;
    /** The session's own cgroup (SessionCgroup.NONE without cgroup2). */
    final SessionCgroup cgroup;
    /** Timeout or shutdown: everything in the cgroup dies before exited is sent. */
    private boolean killCgroupAtEnd;
    private final long startNanos = System.nanoTime();
    private State state = State.RUNNING;
    private Registration pidfdReg;
    private Output stdout;
    private Output stderr;
    private Registration stdinReg;

    private final StdinQueue stdin = new StdinQueue();
    private final StdinWindow stdinWindow;
    private boolean stdinOpen = true;
    private boolean stdinEofRequested;
    /**
     * The errno of the first stdin frame refused for space, 0 before: every later frame gets it too,
     * so what the child reads stays a prefix of what the host sent.
     */
    private int stdinRefusedErrno;
    private boolean outputPaused;

    /** The leader's exit, null until it is reaped. */
    private ExitStatus exit;
    private boolean timedOut;
    private Timer deadlineTimer;
    private Timer killTimer;
    private Timer drainTimer;
    private long bytesIn;
    private long bytesOut;

    /** @param flowControl the host asked for stdin credit (exec.request stdin_window) */
    Session(long id, Child child, SpawnSpec spec, Long timeoutMillis, boolean flowControl, SessionCgroup cgroup,
            Sessions owner, EventLoop loop) {
        this.id = id;
        this.cgroup = cgroup;
        this.pid = child.pid();
        this.child = child;
        this.spec = spec;
        this.owner = owner;
        this.loop = loop;
        this.stdinWindow = flowControl
                ? StdinWindow.withCredit(owner.stdinBudget(), owner.defaults().stdinWindow(), this::sendCredit)
                : StdinWindow.withoutCredit(owner.stdinBudget(), owner.defaults().stdinLimit());
        if (timeoutMillis != null) {
            deadlineTimer = loop.schedule(timeoutMillis, this::onDeadline);
        }
        onStarted();
    }

    boolean hasPidfd() {
        return child.pidfd() >= 0;
    }

    boolean isTty() {
        return child.tty();
    }

    // ---- start ----

    private void onStarted() {
        owner.link().send(new Frame(id, MessageType.EXEC_STARTED, new ExecStarted(pid)));
        log.info("session {} started: pid={} cmd={} tty={} user={} cwd={} env_keys={}", id, pid,
                LogText.quote(spec.cmd()), child.tty(), spec.user() == null ? "(agent)" : LogText.quote(spec.user()),
                spec.cwd() == null ? "(agent)" : LogText.quote(spec.cwd()), envKeys());
        stdinWindow.open();
        Registration outReg = loop.register(child.stdoutFd(), this::onStdoutEvents);
        stdout = new Output(child.stdoutFd(), MessageType.EXEC_STDOUT, outReg);
        if (child.tty()) {
            stdinReg = outReg; // the PTY master carries stdin too: one fd, one registration
        } else {
            stderr = new Output(child.stderrFd(), MessageType.EXEC_STDERR,
                    loop.register(child.stderrFd(), events -> readOutput(stderr)));
            if (stdinOpen) {
                stdinReg = loop.register(child.stdinFd(), events -> onStdinWritable());
            }
        }
        setOutputInterest();
        if (stdinOpen && !stdin.isEmpty()) {
            stdinReg.setWrite(true);
        }
        if (child.pidfd() >= 0) {
            pidfdReg = loop.register(child.pidfd(), events -> onPidfdReadable());
            pidfdReg.setRead(true);
        }
    }

    private String envKeys() {
        StringBuilder keys = new StringBuilder("[");
        for (String entry : spec.env()) {
            int eq = entry.indexOf('=');
            keys.append(keys.length() > 1 ? "," : "").append(eq < 0 ? entry : entry.substring(0, eq));
        }
        return keys.append(']').toString();
    }

    // ---- output ----

    private void onStdoutEvents(int events) {
        if (stdout.open && (events & (EventLoop.READABLE | EventLoop.HANGUP | EventLoop.ERROR)) != 0
                && stdout.reg.reading()) {
            readOutput(stdout);
        }
        if (child.tty() && stdinReg.writing()
                && (events & (EventLoop.WRITABLE | EventLoop.HANGUP | EventLoop.ERROR)) != 0) {
            onStdinWritable();
        }
    }

    /** One read per readiness event, so one chatty child cannot starve the others. */
    private void readOutput(Output out) {
        if (!out.open || state == State.DONE) {
            return;
        }
        if (!owner.link().acceptsOutput()) {
            pauseOutput();
            return;
        }
        readOnce(out);
        if (state == State.CLOSING && !anyOutputOpen()) {
            finish();
        }
    }

    /**
     * Sends what the fd holds, or finds its end. Pipe output goes out as a spliced frame when the port
     * takes those: the session only announces it, and the bytes move from the pipe to the port when
     * their turn comes. Otherwise (a PTY, an empty pipe, or a port that needs copies) it is read.
     * Returns the bytes sent, 0 when the fd reached its end (and is closed now), or WOULD_BLOCK.
     */
    private int readOnce(Output out) {
        if (out.announced > 0) {
            return Os.WOULD_BLOCK; // the queue still owns the pipe's first bytes
        }
        if (out.bulk && !child.tty() && owner.link().acceptsSplicedData()) {
            int waiting;
            try {
                waiting = Os.bytesReadable(out.fd);
            } catch (OsException e) {
                waiting = 0; // read() below reports the fd's trouble
            }
            if (waiting >= Sessions.DEFAULT_PIPE_BYTES && !out.bulkTried) {
                out.bulkTried = true;
                out.bulkPipe = owner.enlargeBulkPipe(out.fd);
            }
            out.bulk = waiting >= SPLICE_MIN;
            if (out.bulk) {
                int n = Math.min(waiting, SPLICE_MAX);
                bytesOut += n;
                out.announced = n;
                setOutputInterest();
                owner.link().sendSplicedData(id, out.type, out.fd, n, () -> onSpliced(out));
                return n;
            }
        }
        return copyOnce(out);
    }

    /** The queue is done with the bytes {@code out} announced: watch the pipe again. */
    private void onSpliced(Output out) {
        out.announced = 0;
        if (state != State.DONE && out.open) {
            setOutputInterest();
        }
    }

    /** Reads the fd once into the read buffer and queues a copy. Same results as {@link #readOnce}. */
    private int copyOnce(Output out) {
        ByteBuffer buf = owner.readBuffer();
        buf.clear();
        int n;
        try {
            n = Os.read(out.fd, buf);
        } catch (OsException e) {
            if (e.errno() != LibC.EIO) { // EIO is a PTY's end of file
                log.warn("session {}: reading {} failed: {}", id, out.type, e.getMessage());
            }
            n = 0;
        }
        if (n > 0) {
            bytesOut += n;
            out.bulk = n >= SPLICE_MIN;
            owner.link().sendData(id, out.type, buf.flip());
        } else if (n == 0) {
            closeOutput(out);
        }
        return n;
    }

    private void closeOutput(Output out) {
        takeAnnounced(out);
        releaseBulkPipe(out);
        out.open = false;
        if (child.tty()) {
            out.reg.setRead(false); // the PTY master is stdin too; closed in finish()
        } else {
            out.reg.cancel();
            Os.close(out.fd);
        }
    }

    private boolean anyOutputOpen() {
        return (stdout != null && stdout.open) || (stderr != null && stderr.open);
    }

    private void pauseOutput() {
        if (!outputPaused) {
            outputPaused = true;
            setOutputInterest();
            owner.outputPaused(this);
        }
    }

    /** The port drained: read output again. */
    void resumeOutput() {
        if (outputPaused && state != State.DONE) {
            outputPaused = false;
            setOutputInterest();
        }
    }

    private void setOutputInterest() {
        if (stdout != null && stdout.open) {
            stdout.reg.setRead(!outputPaused && stdout.announced == 0);
        }
        if (stderr != null && stderr.open) {
            stderr.reg.setRead(!outputPaused && stderr.announced == 0);
        }
    }

    private void releaseBulkPipe(Output out) {
        if (out != null && out.bulkPipe) {
            out.bulkPipe = false;
            owner.bulkPipeClosed();
        }
    }

    /** Before the session reads or closes a pipe itself: the queue reads out what it announced. */
    private void takeAnnounced(Output out) {
        if (out != null && out.announced > 0) {
            owner.link().takeOutOfPipe(out.fd);
        }
    }

    // ---- stdin ----

    /** A stdin frame from the host; empty data is the end of input. */
    void onStdin(byte[] data) {
        if (data.length == 0) {
            if (child.tty()) {
                log.debug("session {}: end of input ignored on a PTY (the host sends ^D)", id);
            } else if (stdinOpen && !stdinEofRequested) {
                stdinEofRequested = true;
                if (stdin.isEmpty()) {
                    closeStdin();
                }
            }
            return;
        }
        if (!stdinOpen || stdinEofRequested) {
            stdinError(LibC.EPIPE, "stdin is closed; " + data.length + " bytes not delivered");
            return;
        }
        if (stdinRefusedErrno != 0) {
            stdinError(stdinRefusedErrno, "an earlier stdin frame of this session was refused, so later ones are"
                    + " too (the process reads only what came before it); " + data.length + " bytes dropped");
            return;
        }
        StdinWindow.Refusal refusal = stdinWindow.admit(data.length);
        if (refusal != StdinWindow.Refusal.NONE) {
            stdinRefusedErrno = LibC.ENOBUFS;
            stdinError(LibC.ENOBUFS, whyRefused(refusal) + "; " + data.length
                    + " bytes dropped, and every later stdin frame of this session will be");
            return;
        }
        stdin.add(data);
        if (state == State.RUNNING || state == State.CLOSING) {
            stdinReg.setWrite(true);
        }
    }

    private String whyRefused(StdinWindow.Refusal refusal) {
        StdinBudget total = owner.stdinBudget();
        return switch (refusal) {
            case PAST_CREDIT -> "stdin past the credit granted (" + stdinWindow.credit() + " bytes of credit left)";
            case SESSION_FULL -> "stdin queue full (" + stdin.size() + " of " + owner.defaults().stdinLimit()
                    + " bytes queued, the process is not reading)";
            case ALL_FULL -> "the agent's stdin queues are full (" + total.used() + " of " + total.limit()
                    + " bytes queued or granted over all sessions)";
            case NONE -> throw new IllegalArgumentException("not a refusal");
        };
    }

    /** Credit for the host (flow control): only between started and the terminal frame. */
    private void sendCredit(long bytes) {
        owner.link().send(new Frame(id, MessageType.EXEC_STDIN_CREDIT, new ExecStdinCredit(bytes)));
    }

    private void onStdinWritable() {
        if (!stdinOpen) {
            return;
        }
        try {
            long written = stdin.writeTo(child.stdinFd());
            bytesIn += written;
            stdinWindow.consumed(written);
        } catch (OsException e) {
            long dropped = stdin.clear();
            stdinError(e.errno(), "writing stdin failed (" + e.getMessage() + "); " + dropped
                    + " bytes not delivered");
            closeStdin();
            return;
        }
        if (stdin.isEmpty()) {
            if (stdinEofRequested) {
                closeStdin();
            } else {
                stdinReg.setWrite(false);
            }
        }
    }

    private void closeStdin() {
        stdinOpen = false;
        stdinWindow.close();
        if (child.tty()) {
            if (stdinReg != null) {
                stdinReg.setWrite(false); // the master stays open for output
            }
        } else {
            if (stdinReg != null) {
                stdinReg.cancel();
            }
            Os.close(child.stdinFd());
        }
    }

    private void stdinError(int errno, String message) {
        owner.link().refuseStdin(id, errno, Os.errnoName(errno), message);
    }

    // ---- control ----

    /** Sends a signal to the session's process group; returns 0 or the errno. */
    int signalGroup(int signal) {
        return Os.killGroup(pid, signal);
    }

    /** The agent is shutting down: at the end, whatever is left in the session's cgroup is killed. */
    void killCgroupAtEnd() {
        killCgroupAtEnd = true;
    }

    /** TIOCSWINSZ on the PTY master. */
    void resize(int rows, int cols) throws OsException {
        owner.setWindowSize(child.ptyMasterFd(), rows, cols);
    }

    private void onDeadline() {
        if (exit != null || state == State.DONE) {
            return;
        }
        timedOut = true;
        killCgroupAtEnd = true;
        log.info("session {}: timeout reached, SIGTERM to group {}", id, pid);
        signalGroup(LibC.SIGTERM);
        killTimer = loop.schedule(owner.defaults().graceMillis(), () -> {
            if (state != State.DONE) {
                log.info("session {}: still running after the grace, SIGKILL to group {} and cgroup {}", id, pid,
                        cgroup);
                signalGroup(LibC.SIGKILL);
                cgroup.kill(0);
            }
        });
    }

    // ---- exit ----

    private void onPidfdReadable() {
        pidfdReg.cancel();
        owner.reapLeader(this);
    }

    /** The leader was reaped (by its pidfd or by the reaper's sweep). */
    void onLeaderExit(int waitStatus) {
        if (exit != null || state == State.DONE) {
            return;
        }
        exit = ExitStatus.fromWaitStatus(waitStatus);
        if (deadlineTimer != null) {
            deadlineTimer.cancel();
        }
        if (state == State.RUNNING) {
            beginClosing();
        }
    }

    private void beginClosing() {
        state = State.CLOSING;
        if (!anyOutputOpen()) {
            finish();
            return;
        }
        drainTimer = loop.schedule(owner.defaults().drainMillis(), this::endDrainWindow);
    }

    /**
     * Descendants still hold an output fd open: take what is already there (even past the high-water
     * mark: the leader wrote it before exiting), then close.
     */
    private void endDrainWindow() {
        if (state != State.CLOSING) {
            return;
        }
        for (Output out : new Output[] {stdout, stderr}) {
            takeAnnounced(out);
            long taken = 0;
            while (out != null && out.open && taken < FINAL_DRAIN_MAX) {
                int n = copyOnce(out);
                if (n <= 0) {
                    break;
                }
                taken += n;
            }
            if (out != null && out.open) {
                closeOutput(out);
            }
        }
        finish();
    }

    private void finish() {
        state = State.DONE;
        cancelTimers();
        if (stdinOpen && !stdin.isEmpty()) {
            long dropped = stdin.clear();
            stdinError(LibC.EPIPE, "the process exited; " + dropped + " bytes of stdin not delivered");
        }
        closeFds();
        if (killCgroupAtEnd) {
            cgroup.kill(SessionCgroups.KILL_WAIT_MILLIS); // setsid'd and double-forked descendants too
        }
        ResourceUsage usage = cgroup.usage();
        TerminalFrames.sendExited(owner.link(), id,
                new ExecExited(exit.code(), exit.signal(), timedOut ? Boolean.TRUE : null, usage));
        log.info("session {} exited: code={} signal={} timed_out={} duration_ms={} bytes_in={} bytes_out={}"
                + " cpu_user_us={} cpu_system_us={} memory_peak_bytes={} oom_killed={}",
                id, exit.code(), exit.signal(), timedOut,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos), bytesIn, bytesOut,
                usage.cpuUserUs(), usage.cpuSystemUs(), usage.memoryPeakBytes(), usage.oomKilled());
        owner.finished(this, true);
    }

    /** The host is gone: kill the group and let go of everything without a word on the wire. */
    void abandon() {
        if (state == State.DONE) {
            return;
        }
        state = State.DONE;
        signalGroup(LibC.SIGKILL);
        cgroup.kill(0);
        cancelTimers();
        closeFds();
        log.info("session {} abandoned (host gone): pid={} killed", id, pid);
    }

    private void cancelTimers() {
        for (Timer t : new Timer[] {deadlineTimer, killTimer, drainTimer}) {
            if (t != null) {
                t.cancel();
            }
        }
    }

    /**
     * Closes every fd still open (each once: a PTY master is both stdin and stdout), and gives the
     * session's stdin bytes and credit back to the budget: every terminal path comes through here.
     */
    private void closeFds() {
        stdin.clear();
        stdinWindow.close();
        takeAnnounced(stdout);
        takeAnnounced(stderr);
        if (pidfdReg != null) {
            pidfdReg.cancel();
        }
        Os.close(child.pidfd());
        if (stdout != null) {
            stdout.reg.cancel();
        }
        if (stderr != null) {
            stderr.reg.cancel();
        }
        if (stdinReg != null) {
            stdinReg.cancel();
        }
        if (child.tty()) {
            Os.close(child.stdoutFd());
        } else {
            if (stdout == null || stdout.open) {
                releaseBulkPipe(stdout);
                Os.close(child.stdoutFd());
            }
            if (stderr == null || stderr.open) {
                releaseBulkPipe(stderr);
                Os.close(child.stderrFd());
            }
            if (stdinOpen) {
                Os.close(child.stdinFd());
            }
        }
        stdinOpen = false;
    }
}
