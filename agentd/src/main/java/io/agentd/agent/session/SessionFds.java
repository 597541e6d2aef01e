package io.agentd.agent.session;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.Loop.Registration;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.sys.OsException;
import io.agentd.protocol.MessageType;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * A session's fds, from their wiring into the loop to their release: the one place that knows
 * pipes from a PTY. A PTY master is one fd for stdout and stdin, with one registration, closed
 * here; pipes are each closed by the part that owns them (an {@link OutputPump}, the
 * {@link StdinWriter}). The pidfd and the agent's hold on a PTY's slave are closed here too.
 */
final class SessionFds {
    final StdinWriter stdin;
    private final OutputPump stdout;
    /** Null on a PTY (stderr goes to the terminal). */
    private final OutputPump stderr;
    private final Child child;
    private final SessionIo io;
    /** Told when an output has something to read and when the leader's pidfd is readable. */
    private final Session session;
    /** Opened once started is sent ({@link #openStdin}). */
    private final Registration stdinReg;
    /** The PTY master's one registration (stdout and stdin); null for pipes. */
    private final Registration masterReg;
    /** Null without a pidfd (the reaper's sweep finds the leader's exit then). */
    private final Registration pidfdReg;
    /**
     * The pidfd and the PTY master are closed ({@link #release}): their numbers may belong to
     * another fd by now, so nothing may touch them again (a second release, a resize, a signal).
     */
    private boolean released;
    /** The agent's hold on the PTY's slave was closed (the leader exited, or the session ended). */
    private boolean slaveReleased;

    /**
     * Makes the parts and puts the fds in the loop. If the loop refuses an fd (epoll_ctl fails)
     * every registration made here is cancelled and the exception goes on to
     * {@link SessionLauncher}, which kills the child and closes its fds: no fd is closed here then.
     *
     * @param flowControl        the host asked for stdin credit (exec.request stdin_window)
     * @param outputPaused       the session's output is paused for backpressure
     * @param session            told when an output has something to read (or hung up) and when
     *                           the leader's pidfd is readable (and no longer watched); not lambdas,
     *                           which would be two more objects per session
     */
    SessionFds(long id, Child child, boolean flowControl, SessionRoute route, SessionOwner owner, Loop loop,
            SessionIo io, BooleanSupplier outputPaused, Session session) {
        this.child = child;
        this.io = io;
        this.session = session;
        boolean pipes = !child.tty();
        List<Registration> made = new ArrayList<>(4);
        try {
            stdout = pump(id, MessageType.EXEC_STDOUT, child.stdoutFd(), pipes, route, owner, io, outputPaused);
            stdin = new StdinWriter(id, child.stdinFd(), pipes, flowControl, route, io, owner.defaults(),
                    owner.stdinBudget());
            if (pipes) {
                stdout.attach(made(made, loop.register(child.stdoutFd(), events -> onOutputEvents(stdout, events))));
                stderr = pump(id, MessageType.EXEC_STDERR, child.stderrFd(), true, route, owner, io, outputPaused);
                stderr.attach(made(made, loop.register(child.stderrFd(), events -> session.onOutputReadable(stderr))));
                stdinReg = made(made, loop.register(child.stdinFd(), events -> stdin.onWritable()));
                // First watched mid-session, when the child stops reading: a refusal then is retried.
                stdinReg.retryWhenRefused();
                masterReg = null;
            } else {
                stderr = null;
                masterReg = made(made, loop.register(child.ptyMasterFd(), this::onMasterEvents));
                stdout.attach(masterReg);
                stdinReg = masterReg;
            }
            setOutputInterest();
            if (child.pidfd() >= 0) {
                pidfdReg = made(made, loop.register(child.pidfd(), events -> onPidfdReadable()));
                pidfdReg.setRead(true);
            } else {
                pidfdReg = null;
            }
        } catch (RuntimeException e) {
            for (Registration r : made) {
                try {
                    r.cancel();
                } catch (RuntimeException again) {
                    e.addSuppressed(again);
                }
            }
            throw e;
        }
    }

    private static Registration made(List<Registration> made, Registration r) {
        made.add(r);
        return r;
    }

    private static OutputPump pump(long id, MessageType type, int fd, boolean pipe, SessionRoute route,
            SessionOwner owner, SessionIo io, BooleanSupplier outputPaused) {
        return new OutputPump(id, type, fd, pipe, route, io, owner.bulkPipes(), owner.bulkCoalescing(),
                owner.readBuffer(), outputPaused);
    }

    /** Grants stdin's first credit (flow control): after started is sent. */
    void openStdin() {
        stdin.open(stdinReg);
    }

    private void onOutputEvents(OutputPump out, int events) {
        if ((events & (Loop.READABLE | Loop.HANGUP | Loop.ERROR)) != 0 && out.reading()) {
            session.onOutputReadable(out);
        }
    }

    /** The PTY master: output to read and stdin to write share it. */
    private void onMasterEvents(int events) {
        onOutputEvents(stdout, events);
        if (stdin.writing() && (events & (Loop.WRITABLE | Loop.HANGUP | Loop.ERROR)) != 0) {
            stdin.onWritable();
        }
    }

    private void onPidfdReadable() {
        pidfdReg.cancel();
        session.onLeaderExitReadable();
    }

    boolean anyOutputOpen() {
        return stdout.isOpen() || (stderr != null && stderr.isOpen());
    }

    /** Watches the outputs, or not while paused (each pump asks). */
    void setOutputInterest() {
        stdout.setInterest();
        if (stderr != null) {
            stderr.setInterest();
        }
    }

    /** The drain window's last read of each output, then its close. */
    void drainAndCloseOutputs() {
        stdout.drainAndClose();
        if (stderr != null) {
            stderr.drainAndClose();
        }
    }

    long bytesOut() {
        return stdout.bytesMoved() + (stderr == null ? 0 : stderr.bytesMoved());
    }

    /** Whether {@link #release} ran: the pidfd's and the master's numbers may be other fds' now. */
    boolean released() {
        return released;
    }

    /**
     * TIOCSWINSZ on the PTY master; a no-op once the master is closed (a session that ended and
     * waits for its cgroup to empty before its exited): its number may be another fd's now.
     */
    void resize(int rows, int cols) throws OsException {
        if (released) {
            return;
        }
        int err = io.setWindowSize(child.ptyMasterFd(), rows, cols);
        if (err != 0) {
            throw new OsException("ioctl(TIOCSWINSZ)", err);
        }
    }

    /** The agent's own hold on the PTY's slave ({@link Child#ptySlaveFd}) goes, once. */
    void releaseSlave() {
        if (!slaveReleased && child.ptySlaveFd() >= 0) {
            io.close(child.ptySlaveFd());
        }
        slaveReleased = true;
    }

    /**
     * Every terminal path comes through here: each part closes what it owns (once, however often it
     * is asked), the stdin bytes and credit go back to the budget, and what only the session owns
     * (the pidfd, a PTY master) is closed last. Called at most twice (finish, then abandon while
     * the killed cgroup empties): the second call does nothing, since a second close of the pidfd's or
     * the master's number would close whatever fd was given that number since.
     */
    void release() {
        if (released) {
            return;
        }
        released = true;
        stdin.close();
        stdout.close();
        if (stderr != null) {
            stderr.close();
        }
        if (pidfdReg != null) {
            pidfdReg.cancel();
        }
        io.close(child.pidfd());
        releaseSlave();
        if (masterReg != null) {
            masterReg.cancel();
            io.close(child.ptyMasterFd());
        }
    }
}
