package io.agentd.client;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecStdinError;
import io.agentd.protocol.payload.SessionAttached;
import io.agentd.protocol.payload.SessionDetached;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * One exec session on an {@link AgentClient} connection: send stdin, resize, signals; receive output as
 * it comes (through the {@link OutputListener} given at start, from {@link #stdout()} and
 * {@link #stderr()} for a session started with {@link AgentClient#startWithStreams}, or else from
 * {@link #nextOutput}); await the exit. Thread-safe.
 *
 * <p>Stdin: when the agent offers flow control (its core.ready lists {@code stdin_window}), the
 * client never sends more than the agent granted: {@link #writeStdin} and {@link #stdin()} wait for
 * credit, which comes as the process reads. Without it (an older agent) writes never wait, and the
 * agent may refuse input it has no room for. Either way, once the agent reported that some input was
 * not delivered, later writes fail with {@link StdinNotDeliveredException} ({@link #stdinNotDelivered}).
 *
 * <p>Every wait ends: a failed start throws {@link ExecFailedException}, a refused request
 * {@link AgentErrorException}, a lost connection {@link ConnectionLostException}. A core.error about
 * a later frame of a running session does not end it: see {@link #errors}.
 */
public final class ExecSession {
    /** {@link #errors} keeps this many, the oldest: an agent that refuses frame after frame cannot grow it for ever. */
    static final int ERRORS_KEPT = 128;

    private final long id;
    /** The pid and the exit, and the waits for them. */
    private final StartAndExit startAndExit;
    /** The agent's credit for stdin (unlimited when the request did not ask for flow control). */
    private final StdinWindow stdinWindow;
    /** Sends stdin data and its end within {@link #stdinWindow}. */
    private final StdinSender stdinSender;
    private final SessionStdin stdinStream = new SessionStdin(this);
    /** Where the output goes, and the hold {@link #pauseOutput} asks for. */
    private final SessionOutput output;
    /** The agent's core.errors and stdin errors that did not end the session. */
    private final SessionErrors errors;
    /** Signals and resizes, and the SIGKILL of a caller that gives the session up. */
    private final SessionSignals signals;
    /** The question {@link #detach} asks, its answer, and the wait for it. */
    private final SessionDetach detach;
    /** The agent's frames on this id, handed to the parts above; what started or attached said. */
    private final SessionFrames frames;

    /**
     * @param listener       where output goes; null for {@link #nextOutput} or streams
     * @param streamCapacity bytes each of {@link #stdout()} and {@link #stderr()} may hold; 0 for a
     *                       session without streams
     * @param stdinWindow    the stdin balance (limited when the request asked for flow control)
     */
    ExecSession(AgentConnection connection, long id, boolean tty, OutputListener listener, int streamCapacity,
            StdinWindow stdinWindow) {
        this(connection, id, tty, MessageType.EXEC_REQUEST, listener, streamCapacity, stdinWindow);
    }

    /** @param startType exec.request, or session.attach for a session this id attaches to */
    ExecSession(AgentConnection connection, long id, boolean tty, MessageType startType, OutputListener listener,
            int streamCapacity, StdinWindow stdinWindow) {
        // Each part is made after the parts it uses; the frames last, as they reach all the others.
        // No frame comes before this returns: the receiver is registered on the id afterwards.
        this.id = id;
        this.startAndExit = new StartAndExit(connection, id);
        this.stdinWindow = stdinWindow;
        this.stdinSender = new StdinSender(connection, id, stdinWindow);
        this.output = new SessionOutput(connection, id, tty, listener, streamCapacity);
        this.errors = new SessionErrors(id, listener, stdinWindow);
        this.signals = new SessionSignals(connection, id, startAndExit);
        this.detach = new SessionDetach(id, connection, startAndExit);
        this.frames = new SessionFrames(connection, id, tty, startType, startAndExit, output, stdinWindow, errors, detach);
    }

    /** The session's id on the connection (never 0). */
    public long id() {
        return id;
    }

    /** Whether the session runs on a PTY (for an attach: known once {@link #awaitStarted} returned). */
    public boolean isTty() {
        return frames.tty();
    }

    /**
     * The agent-wide session number (docs/PROTOCOL-EXTENSIONS.md, "Sessions"), known once
     * {@link #awaitStarted} has returned: from core.exec.started for a detachable request, from
     * core.session.attached for an attach; null for any other session (or before).
     */
    public Long sessionNumber() {
        return frames.sessionNumber();
    }

    /**
     * For a session opened by {@link AgentClient#attach}: the agent's core.session.attached (the
     * offset the output starts at, and how many bytes asked for were no longer kept), once
     * {@link #awaitStarted} has returned; null for an exec.
     */
    public SessionAttached attached() {
        return frames.attached();
    }

    /**
     * Waits for core.exec.started (for a session opened by {@link AgentClient#attach}:
     * core.session.attached) and returns the pid of the session's process.
     */
    public long awaitStarted(Duration timeout)
            throws AgentException, TimeoutException, InterruptedException {
        return startAndExit.awaitStarted(timeout);
    }

    /**
     * Waits for the end of the session. All output has been delivered (to the listener, the queue
     * of {@link #nextOutput}, or the streams) before this returns.
     *
     * @throws ExecFailedException   the program never ran
     * @throws AgentErrorException   the agent refused the request
     * @throws ConnectionLostException the connection closed first
     * @throws TimeoutException      still running after {@code timeout} (the session goes on)
     */
    public ExitStatus awaitExit(Duration timeout) throws AgentException, TimeoutException, InterruptedException {
        return startAndExit.awaitExit(timeout);
    }

    /** Completes like {@link #awaitExit}, for callers that would rather not block. */
    public CompletableFuture<ExitStatus> onExit() {
        return startAndExit.onExit();
    }

    public boolean isDone() {
        return startAndExit.isDone();
    }

    /**
     * The next chunk of output, in arrival order; null once the session has ended and every chunk was
     * taken. Only for sessions started with {@link AgentClient#start(io.agentd.protocol.payload.ExecRequest)}.
     *
     * @throws TimeoutException no output and no end within {@code timeout}
     */
    public Output nextOutput(Duration timeout) throws TimeoutException, InterruptedException {
        return output.next(timeout);
    }

    /**
     * Asks the agent to stop sending this session's output until {@link #resumeOutput}: for a caller
     * whose listener hands output on to something that is full (a slow socket) and that must not block
     * the connection's reader thread to say so, or that wants to bound what waits for
     * {@link #nextOutput}. The process then blocks writing, as on a full pipe; what the agent had sent
     * before the request reached it still arrives; every other session goes on. The session's exit
     * is held too (it comes after the last of its output): a caller that waits for the exit must
     * {@link #resumeOutput} first. Needs an agent whose core.ready lists {@code relay_flow} (docs/PROTOCOL-EXTENSIONS.md,
     * "Relay flow control"); behind a relay, one of at most 7 held sessions per client.
     *
     * @return true when the agent was asked; false, with nothing sent, when it cannot be (an older
     *         agent, a relay known not to pass the request on) or the session has ended. A relay from
     *         before this feature refuses the first request after it was sent: the client logs that,
     *         the output goes on coming, and later calls return false
     * @throws IllegalStateException for a session started with streams: a full stream pauses its
     *                               session on its own
     */
    public boolean pauseOutput() {
        return output.pause(startAndExit.isDone());
    }

    /** Lets the output paused by {@link #pauseOutput} flow again; nothing to do when it was not paused. */
    public void resumeOutput() {
        output.resume();
    }

    /** The last core.exec.stdin.error the agent sent for this session, or null. */
    public ExecStdinError stdinError() {
        return errors.lastStdinError();
    }

    /**
     * Why the process did not get all of its stdin (the first core.exec.stdin.error the agent sent
     * for this session), or null when the agent reported nothing. Complete once {@link #awaitExit}
     * has returned: the agent reports before the session's end.
     */
    public StdinNotDeliveredException stdinNotDelivered() {
        return errors.stdinNotDelivered();
    }

    /** Data bytes sent to the process's stdin so far (the end of input not counted). */
    public long stdinBytesSent() {
        return stdinSender.bytesSent();
    }

    /** True when this session's stdin is flow-controlled: writes wait for the agent's credit. */
    public boolean hasStdinWindow() {
        return stdinWindow.isLimited();
    }

    /**
     * The process's stdin, as {@link Process#getOutputStream()}: a write returns once its bytes are
     * sent, which with flow control means once the agent granted room for them (it waits while the
     * process does not read; interruptible). Unbuffered: each write is sent at once. {@code close()}
     * ends the input ({@link #closeStdin}). A write fails with {@link StdinNotDeliveredException}
     * after the agent refused input, and with the session's failure (or an {@link AgentException}
     * saying it ended) once the session is over, also while it waits.
     */
    public OutputStream stdin() {
        return stdinStream;
    }

    /**
     * The process's stdout (everything, for a PTY session), as {@link Process#getInputStream()}: -1
     * after the session's end and the last byte; a session that ended without an exit status
     * (connection lost, agent restarted) makes the read throw that failure instead, since output
     * may be missing. Only for sessions started with {@link AgentClient#startWithStreams}.
     *
     * <p>Bounded: the stream holds the capacity given at start. When it fills and the agent holds
     * output on request (its core.ready lists {@code relay_flow}), the client asks it to hold this
     * session's output: the process blocks writing, as on a full pipe, while every other session and
     * call of the connection goes on. The stream still takes what was already on its way (at most
     * 8 MiB more), and the output flows again once both streams are down to a quarter of their
     * capacity. With an older agent, or behind a relay that does not pass the request on, a full
     * stream (or one frame's data, if larger) makes the connection's one reader thread wait until it
     * is read or closed: meanwhile no frame of any session on that connection is read (output,
     * exits, stdin credit, ping replies), and the agent, whose queue to this host then fills, stops
     * reading the output of the processes, which block writing it. Either way, read stdout and
     * stderr both (one of them on another thread), or close the one you do not want: a closed stream
     * discards its output. {@link AgentClient#close} also releases a waiting reader.
     */
    public InputStream stdout() {
        return streams().stdout;
    }

    /**
     * The process's stderr, as {@link Process#getErrorStream()}, bounded like {@link #stdout()};
     * empty for a PTY session (its terminal's output is all on stdout).
     */
    public InputStream stderr() {
        return streams().stderr;
    }

    OutputStreams streams() {
        return output.streams();
    }

    /**
     * The core.errors the agent sent on this running session, oldest first: each refused one of our
     * frames (a resize of a pipe session, a bad signal number, ...) and the session went on. (A
     * core.error that refuses the request itself ends the session: {@link #awaitExit} throws it.) At
     * most {@value #ERRORS_KEPT}; {@link #errorsNotKept} counts the rest.
     */
    public List<AgentErrorException> errors() {
        return errors.errors();
    }

    /** The core.errors on this session past the {@value #ERRORS_KEPT} that {@link #errors} keeps (a listener got each). */
    public long errorsNotKept() {
        return errors.errorsNotKept();
    }

    /**
     * Sends bytes to the process's stdin, split into frames as needed; with flow control, within the
     * balance the agent granted, waiting for more credit as the process reads (see {@link #stdin()}
     * for how it fails).
     *
     * @throws StdinNotDeliveredException the agent already refused some of this session's input
     * @throws IOException                 a pipe session's stdin was closed ({@link #closeStdin})
     * @throws InterruptedIOException     interrupted while waiting for credit; some bytes may have
     *                                    been sent ({@link InterruptedIOException#bytesTransferred})
     */
    public void writeStdin(byte[] data) throws IOException {
        writeStdin(data, 0, data.length);
    }

    public void writeStdin(byte[] data, int off, int len) throws IOException {
        stdinSender.write(data, off, len);
    }

    /**
     * Like {@link #writeStdin(byte[], int, int)} for the bytes between {@code data}'s position and
     * limit (the position moves to the limit). A direct buffer goes to the socket without a copy:
     * read stdin into one (e.g. with a {@link java.nio.channels.FileChannel}) to stream it with the
     * fewest copies.
     */
    public void writeStdin(ByteBuffer data) throws IOException {
        stdinSender.write(data);
    }

    /**
     * {@link #writeStdin(byte[], int, int)} that gives up at {@code deadlineNanos} (a
     * {@link System#nanoTime}); returns how many bytes were sent, which is {@code len} unless the
     * session could take no more (then the session's state says why).
     */
    int writeStdin(byte[] data, int off, int len, long deadlineNanos) throws IOException, TimeoutException {
        return stdinSender.write(data, off, len, deadlineNanos);
    }

    /**
     * Ends the process's input: in pipe mode the agent closes its stdin, and later writes fail with
     * an IOException that says so (a second call sends nothing); in PTY mode this sends ^D each time,
     * which the terminal reads as end of input at the start of a line (after input that did not end
     * with a newline, two: the first sends the partial line), and writing may go on. Nothing to do,
     * and no error, once the session has ended (it may end at any moment, e.g. before its input was
     * closed).
     */
    public void closeStdin() throws IOException {
        try {
            closeStdin(Timeouts.NO_DEADLINE);
        } catch (TimeoutException e) {
            throw Timeouts.timedOutWithoutDeadline(e);
        }
    }

    /** The request went out with its end of input ({@link AgentClient#startWithoutInput}): nothing more goes in. */
    void stdinEndedWithRequest() {
        stdinSender.endedWithRequest();
    }

    /**
     * {@link #closeStdin()} that gives up at {@code deadlineNanos} (a {@link System#nanoTime}): a PTY
     * session's ^D is data and waits for the agent's credit like any other byte.
     */
    void closeStdin(long deadlineNanos) throws IOException, TimeoutException {
        if (startAndExit.isDone()) {
            return;
        }
        stdinSender.close(frames.tty(), deadlineNanos);
    }

    /**
     * Sets the PTY's size (rows and cols are u16).
     *
     * @throws ConnectionLostException the connection is gone (also when it ended this session)
     * @throws AgentException          the session has ended
     */
    public void resize(int rows, int cols) throws IOException {
        signals.resize(rows, cols);
    }

    /**
     * Sends a signal (a number: 15 = SIGTERM) to the session's process group.
     *
     * @throws ConnectionLostException the connection is gone (also when it ended this session)
     * @throws AgentException          the session has ended
     */
    public void signal(int signal) throws IOException {
        signals.signal(signal);
    }

    /** SIGKILL for {@link AgentClient#run} giving up: {@link SessionSignals#kill}. */
    void kill(Duration grace) {
        signals.kill(grace);
    }

    /** SIGKILL from a thread of its own: {@link SessionSignals#killAside}. */
    void killAside() {
        signals.killAside();
    }

    /**
     * Leaves the session running on the agent without this host, which stays connected: what the
     * host's departure would do to it, whatever the agent's host-loss policy. Returns the session's
     * number and the output offset where its output here ended: every byte before it was delivered
     * to this session, so {@link AgentClient#attach(long, Long) attach(number, offset)}, from this or
     * any other connection, goes on exactly there. After it the session is done here: its output
     * ends (streams read to their end, nothing missing) and {@link #awaitExit} throws
     * {@link SessionDetachedException}. A session that was not started detachable keeps its output
     * from the offset on. Asked again, it gives the same answer, but for a refusal
     * ({@link AgentErrorException}): after one, a later call asks the agent again.
     *
     * @throws UnsupportedOperationException when the agent does not list {@code session_detach}
     *                                       ({@link AgentClient#agentDetachesSessions})
     * @throws AgentException                when the session ended first (then {@link #awaitExit}
     *                                       says how), or {@link AgentErrorException} when the agent
     *                                       refused
     * @throws IllegalStateException         on the connection's reader thread (in an OutputListener)
     */
    public SessionDetached detach(Duration timeout) throws AgentException, TimeoutException, InterruptedException {
        return detach.askAndWait(timeout);
    }

    /** What the connection's reader calls with this session's frames. */
    Receiver receiver() {
        return frames;
    }

    /** The request asks start_detached (set before it is sent): the session ends here at started. */
    void expectDetachedAtStart() {
        frames.expectDetachedAtStart();
    }
}
