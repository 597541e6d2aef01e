package io.agentd.client;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecResize;
import io.agentd.protocol.payload.ExecSignal;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What is sent to one session's process besides its stdin: the caller's signals and resizes of its
 * PTY ({@link ExecSession#signal}, {@link ExecSession#resize}), and the SIGKILL of a caller that
 * gives the session up.
 */
final class SessionSignals {
    /** ExecSession's: users' log configurations name the session's lines by it. */
    private static final Logger log = LoggerFactory.getLogger(ExecSession.class);

    private final AgentConnection connection;
    private final long id;
    private final StartAndExit startAndExit;

    SessionSignals(AgentConnection connection, long id, StartAndExit startAndExit) {
        this.connection = connection;
        this.id = id;
        this.startAndExit = startAndExit;
    }

    /** {@link ExecSession#resize}. */
    void resize(int rows, int cols) throws IOException {
        startAndExit.ensureLive("resize");
        connection.send(new Frame(id, MessageType.EXEC_RESIZE, new ExecResize(rows, cols)));
    }

    /** {@link ExecSession#signal}. */
    void signal(int signal) throws IOException {
        startAndExit.ensureLive("signal");
        connection.send(new Frame(id, MessageType.EXEC_SIGNAL, new ExecSignal(signal)));
    }

    /**
     * Sends SIGKILL for {@link AgentClient#run} giving up: at once when the connection takes it
     * within {@code grace}, so that it is out before run returns (a caller that then closes the
     * connection does not race it), else from a thread of its own, as {@link #killAside}.
     */
    void kill(Duration grace) {
        boolean interrupted = Thread.interrupted(); // an interrupted run kills too: the flag would refuse the wait to send
        try {
            connection.send(Timeouts.deadline(grace), new Frame(id, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
        } catch (AgentTimeoutException | InterruptedIOException notSent) {
            killAside(); // an interrupt that came during the wait for the connection: sent from aside
        } catch (IOException e) {
            log.debug("session {}: SIGKILL not sent: {}", id, e.toString()); // the connection ended
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Sends SIGKILL from a thread of its own, for a caller that must not wait for the connection's
     * writes: the reader thread (a run's output past its limit), or a kill that found the
     * connection held up. The thread ends once the signal is sent, or the connection ends.
     */
    void killAside() {
        Thread killer = new Thread(() -> {
            try {
                signal(9);
            } catch (IOException e) {
                log.debug("session {}: SIGKILL not sent: {}", id, e.toString()); // it ended, or the connection did
            }
        }, "agentd-client-kill");
        killer.setDaemon(true);
        killer.start();
    }
}
