package io.agentd.client;

import io.agentd.protocol.payload.ExecRequest;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * A command run to completion, {@link AgentClient#run}: started with its output collected, its
 * stdin sent and ended, its exit awaited, all within one timeout. Whatever way the run gives up
 * (its time, an interrupt), the session is killed: nobody is left to wait for it, and it must not
 * run on in the guest.
 */
final class CommandRun {
    /** How long a run that gives up waits to send its SIGKILL before it leaves that to a thread of its own. */
    private static final Duration RUN_KILL_GRACE = Duration.ofSeconds(1);

    private CommandRun() {}

    /** {@link AgentClient#run(ExecRequest, byte[], Duration)} keeping at most {@code outputLimit} bytes of each stream. */
    static ExecResult run(AgentConnection connection, SessionRequests sessions, ExecRequest request, byte[] stdin,
            Duration timeout, int outputLimit) throws IOException, TimeoutException, InterruptedException {
        connection.refuseWaitOnReader("a command run to completion"); // before it starts: nobody would end it
        long deadline = Timeouts.deadline(timeout);
        RunOutput collect = new RunOutput(outputLimit);
        ExecSession session;
        try {
            session = sessions.start(request, collect, 0, stdin.length == 0 && !request.tty(), deadline);
        } catch (AgentTimeoutException e) {
            throw e.asTimeoutException("the command was not started within " + Timeouts.text(timeout) + ": ");
        } catch (InterruptedIOException e) {
            throw Interrupts.interruptedBy(e, e.getMessage()); // nothing started
        }
        collect.started(session);
        ConnectionLostException lostWhileSending = null;
        try {
            session.writeStdin(stdin, 0, stdin.length, deadline);
            session.closeStdin(deadline); // a PTY's ^D waits for credit too
        } catch (TimeoutException e) {
            session.kill(RUN_KILL_GRACE);
            throw new TimeoutException("session " + session.id() + ": stdin not taken within " + Timeouts.text(timeout));
        } catch (InterruptedIOException e) {
            session.kill(RUN_KILL_GRACE);
            throw Interrupts.interruptedBy(e, "interrupted while sending stdin to session " + session.id());
        } catch (ConnectionLostException e) {
            // A write that failed because the agent closed: its exit may be among what it sent
            // before (a core.shutdown); the wait below gets it, or this connection's end.
            lostWhileSending = e;
        } catch (AgentException e) {
            // The session ended (or failed to start, or the agent refused input) before all of it
            // was sent: awaitExit and the session's stdin error say which. A process still running
            // gets the end of input, so that it ends with the prefix it has.
            try {
                session.closeStdin(deadline);
            } catch (TimeoutException timedOut) {
                session.kill(RUN_KILL_GRACE);
                throw new TimeoutException("session " + session.id() + ": end of stdin not taken within " + Timeouts.text(timeout));
            } catch (InterruptedIOException interrupted) {
                session.kill(RUN_KILL_GRACE); // as an interrupt above: nobody is left to wait for it
                throw Interrupts.interruptedBy(interrupted, "interrupted while sending the end of stdin to session " + session.id());
            }
        }
        ExitStatus status;
        try {
            status = session.awaitExit(Duration.ofNanos(Timeouts.left(deadline)));
        } catch (TimeoutException e) {
            if (lostWhileSending != null) {
                // The connection ended under the send (the agent stopped taking a frame in its
                // middle, at the deadline): that is why no exit came, whichever the wait saw first.
                throw lostWhileSending;
            }
            session.kill(RUN_KILL_GRACE);
            throw new TimeoutException("session " + session.id() + ": no exit within " + Timeouts.text(timeout));
        } catch (InterruptedException e) {
            session.kill(RUN_KILL_GRACE); // nobody is left to wait for it: it must not run on in the guest
            throw e;
        }
        AgentException overflow = collect.overflow(session.id());
        if (overflow != null) {
            throw overflow;
        }
        ExecResult result = new ExecResult(collect.stdout(), collect.stderr(), status.code(),
                status.signal(), status.timedOut(), status.usage());
        StdinNotDeliveredException notDelivered = session.stdinNotDelivered();
        long unsent = stdin.length - session.stdinBytesSent();
        if (notDelivered == null && unsent > 0) {
            notDelivered = StdinNotDeliveredException.endedBeforeSent(session.id(), unsent, stdin.length);
        }
        if (notDelivered != null) {
            throw notDelivered.withResult(result);
        }
        return result;
    }
}
