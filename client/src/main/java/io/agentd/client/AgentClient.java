package io.agentd.client;

import io.agentd.client.relay.IdRange;
import io.agentd.client.relay.RelayGreeting;
import io.agentd.client.transport.AgentAddress;
import io.agentd.client.fs.GuestFiles;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Payload;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.SessionInfo;
import io.agentd.protocol.payload.SessionListResult;
import io.agentd.protocol.payload.Touched;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * One connection to an agent: over a unix socket (agentd's {@code --listen unix:PATH}, the socket of
 * a QEMU virtio-serial chardev, or a relay's), vsock, or a hybrid vsock (see {@link AgentAddress}).
 * Many sessions and calls run at once over it; each gets an id of its own (never 0, never one that
 * is still live). Thread-safe.
 *
 * <p>Agent or relay is found out, not configured: the first 8 bytes that arrive are either the start
 * of the agent's first frame ({@code [len][id 0]}) or a relay's greeting ({@code [id_start][id_end_exclusive]},
 * see {@link RelayGreeting}). Behind a relay every id is taken from the range the greeting gave
 * ({@link #relayRange}); when all of them are live, a new session or call fails with
 * {@link IdsExhaustedException}, never with an id of another client's range.
 *
 * <p>One reader thread per connection reads and dispatches every frame; writes are serialized. When
 * the connection closes or breaks, every open session and call fails at once with
 * {@link ConnectionLostException}; after a failed write (the agent closed), once the reader has
 * taken what the agent sent before it closed.
 *
 * <p>Interrupting a thread that waits in this API ends its own wait (InterruptedException, or
 * InterruptedIOException from a stream) and nothing else: the connection and its other sessions go
 * on. A frame being written when the interrupt comes is written whole first (cutting it would break
 * the connection), and the thread's interrupt flag is left set.
 */
public final class AgentClient implements AutoCloseable {
    /** What each of a session's stdout() and stderr() holds unless the caller says otherwise. */
    public static final int DEFAULT_STREAM_BUFFER_BYTES = 256 * 1024;

    /** The connection's parts, and what its sessions and fs requests use of them. */
    private final AgentConnection connection;
    /** Session starts and attaches, checked against what the agent offers; the list of sessions. */
    private final SessionRequests sessions;

    private AgentClient(AgentConnection connection) {
        this.connection = connection;
        this.sessions = new SessionRequests(connection);
    }

    /**
     * Connects and waits until the agent is ready: its core.ready (sent on every new connection), or
     * else a core.pong. A QEMU chardev socket accepts before the guest's agent is up, and a ready the
     * guest sent while no host was connected is lost; so after a second without ready the client
     * pings once a second (pings sent while the guest's port is closed are discarded by QEMU).
     *
     * @throws IOException      the socket does not exist, is not a socket, refuses (a ConnectException), or
     *                          closes before the agent is ready; the message names the path and which
     * @throws TimeoutException connected, but the agent was not ready within {@code readyTimeout}
     * @throws InterruptedException the calling thread was interrupted (before or while connecting)
     */
    public static AgentClient connect(Path socket, Duration readyTimeout)
            throws IOException, TimeoutException, InterruptedException {
        return connect(new AgentAddress.Unix(socket), readyTimeout);
    }

    /**
     * {@link #connect(Path, Duration)} for any {@link AgentAddress} (unix, vsock, hybrid vsock), agent
     * or relay alike. The transport's own handshake (hybrid vsock's CONNECT), and a unix connect
     * waiting on a listener that takes none (a stopped agent whose backlog is full), count against
     * {@code readyTimeout} too.
     *
     * @throws ConnectionRefusedException the peer answered with a core.error instead (a full relay)
     */
    public static AgentClient connect(AgentAddress address, Duration readyTimeout)
            throws IOException, TimeoutException, InterruptedException {
        return new AgentClient(ConnectionStart.open(address, readyTimeout));
    }

    /** The ids this client uses behind a relay (its greeting's); null when connected to an agent directly. */
    public IdRange relayRange() {
        return connection.ids.relayRange();
    }

    /** The agent's core.ready of this connection; null when the agent was found by a ping instead. */
    public Ready ready() {
        return connection.control.firstReady();
    }

    /**
     * Starts a session whose output is read with {@link ExecSession#nextOutput}. Output waits in
     * memory, without a bound, until it is taken: bounding it would stall the connection's one
     * reader thread, and with it every session, and a caller that only awaits the exit would never
     * see it. For output larger than memory, pass a listener or use {@link #startWithStreams}.
     *
     * <p>Every start asks for stdin flow control when the agent offers it (whatever
     * {@link ExecRequest#stdinWindow} says): see {@link ExecSession}.
     *
     * <p>A request {@link ExecRequest#withStartDetached start-detached} (with
     * {@link ExecRequest#withDetachable}, to an agent that lists {@code sessions}) gets only its
     * start: {@link ExecSession#awaitStarted} returns the pid and {@link ExecSession#sessionNumber},
     * and the session then ends on this connection ({@link ExecSession#awaitExit} throws): the agent
     * keeps its output from the first byte and its exit for {@link #attach}. This is how to start a
     * command and come back for it later without racing its exit. An agent from before the field
     * ignores it and keeps the session on this connection, whose output this client then drops.
     */
    public ExecSession start(ExecRequest request) throws IOException {
        return sessions.start(request, null, 0, false, Timeouts.NO_DEADLINE);
    }

    /**
     * Starts a session used like a {@link Process}: {@link ExecSession#stdin()},
     * {@link ExecSession#stdout()}, {@link ExecSession#stderr()}, each stream holding at most
     * {@link #DEFAULT_STREAM_BUFFER_BYTES}. Read the output as it comes: a full stream holds up its
     * own process, and with an older agent the whole connection (see {@link ExecSession#stdout()}).
     */
    public ExecSession startWithStreams(ExecRequest request) throws IOException {
        return startWithStreams(request, DEFAULT_STREAM_BUFFER_BYTES);
    }

    /** {@link #startWithStreams(ExecRequest)} whose stdout and stderr each hold up to {@code bufferBytes}. */
    public ExecSession startWithStreams(ExecRequest request, int bufferBytes) throws IOException {
        if (bufferBytes <= 0) {
            throw new IllegalArgumentException("bufferBytes must be positive: " + bufferBytes);
        }
        return sessions.start(request, null, bufferBytes, false, Timeouts.NO_DEADLINE);
    }

    /**
     * Starts a session whose output goes to {@code listener} as it arrives, on the connection's
     * reader thread: a listener that blocks holds up every session of the connection, and through the
     * agent's backpressure, their processes.
     */
    public ExecSession start(ExecRequest request, OutputListener listener) throws IOException {
        if (listener == null) {
            throw new IllegalArgumentException("listener is required");
        }
        return sessions.start(request, listener, 0, false, Timeouts.NO_DEADLINE);
    }

    /**
     * {@link #start(ExecRequest, OutputListener)} for a pipe-mode command that reads nothing: its
     * stdin is at its end from the start, as with {@code </dev/null}. The end of input goes out in the
     * same write as the request, so the agent has it before the command can exit; sent afterwards it
     * could arrive for a session already over, which the agent refuses ({@code invalid_session}).
     */
    public ExecSession startWithoutInput(ExecRequest request, OutputListener listener) throws IOException {
        if (listener == null) {
            throw new IllegalArgumentException("listener is required");
        }
        if (request.tty()) {
            throw new IllegalArgumentException("a PTY session's end of input is ^D, data: use start and closeStdin");
        }
        return sessions.start(request, listener, 0, true, Timeouts.NO_DEADLINE);
    }

    // ---- sessions extension (docs/PROTOCOL-EXTENSIONS.md, "Sessions") --------------------------

    /** True when the agent's core.ready listed {@code sessions}: detachable sessions, list and attach. */
    public boolean agentKeepsSessions() {
        return connection.offers(Ready.FEATURE_SESSIONS);
    }

    /**
     * True when the agent's latest core.ready listed {@code session_detach}: {@link ExecSession#detach}
     * works. False while none came (the agent was found by a ping).
     */
    public boolean agentDetachesSessions() {
        return connection.offers(Ready.FEATURE_SESSION_DETACH);
    }

    /**
     * Every session of the agent, of every connection: running ones, and exited ones whose status
     * is still kept for an attach.
     */
    public List<SessionInfo> listSessions(Duration timeout) throws IOException, TimeoutException, InterruptedException {
        return sessionList(timeout).sessions();
    }

    /**
     * {@link #listSessions}, with how many sessions the agent left out of its answer
     * ({@link SessionListResult#omitted}: the oldest are listed, as many as fit in one frame).
     */
    public SessionListResult sessionList(Duration timeout) throws IOException, TimeoutException, InterruptedException {
        return sessions.list(timeout);
    }

    /**
     * Becomes the host of session {@code session} (a number from {@link ExecSession#sessionNumber} or
     * {@link #listSessions}) on a fresh id: its kept output from {@code from} (null: the oldest byte
     * still kept) comes first, then live output and its exit, as for {@link #start(ExecRequest,
     * OutputListener)}; stdin, resize and signals act on it. {@link ExecSession#awaitStarted} waits for
     * the agent's answer, and then {@link ExecSession#attached} says where the output starts and what
     * was missed. A refusal (no such session, another host attached, an offset past the end) fails
     * it with {@link AgentErrorException}.
     *
     * @param listener where output goes; null to read it with {@link ExecSession#nextOutput}
     */
    public ExecSession attach(long session, Long from, OutputListener listener) throws IOException {
        return sessions.attach(session, from, listener);
    }

    /** {@link #attach(long, Long, OutputListener)} whose output is read with {@link ExecSession#nextOutput}. */
    public ExecSession attach(long session, Long from) throws IOException {
        return attach(session, from, null);
    }

    /** True when the agent's core.ready listed {@code stdin_window}: sessions started now are flow-controlled. */
    public boolean agentGrantsStdinCredit() {
        return connection.offers(Ready.FEATURE_STDIN_WINDOW);
    }

    /** Runs a command to completion with no input (its stdin is closed at once). */
    public ExecResult run(ExecRequest request, Duration timeout)
            throws IOException, TimeoutException, InterruptedException {
        return run(request, new byte[0], timeout);
    }

    /**
     * Runs a command to completion: sends {@code stdin}, closes it, collects all output. With flow
     * control the input goes out as the agent grants room for it, so this waits while the process
     * does not read (within {@code timeout}).
     *
     * @throws ExecFailedException         the program never ran
     * @throws StdinNotDeliveredException  the process did not get all of {@code stdin}: the agent
     *                                     reported a stdin error, or the session ended before it was
     *                                     all sent (a process that exits without reading its input);
     *                                     {@link StdinNotDeliveredException#result} holds its exit
     *                                     status and output
     * @throws TimeoutException            not done within {@code timeout}; the session is then sent SIGKILL
     * @throws InterruptedException        the calling thread was interrupted; the session is then sent
     *                                     SIGKILL too, and the connection goes on
     * @throws AgentException              also when stdout or stderr passed {@link #RUN_OUTPUT_LIMIT}
     *                                     bytes: the session is killed then, and its output dropped
     */
    public ExecResult run(ExecRequest request, byte[] stdin, Duration timeout)
            throws IOException, TimeoutException, InterruptedException {
        return run(request, stdin, timeout, RUN_OUTPUT_LIMIT);
    }

    /**
     * The most {@link #run} keeps of each of stdout and stderr, 64 MiB: past it run kills the
     * session and throws {@link AgentException}, never returning output cut short.
     */
    public static final int RUN_OUTPUT_LIMIT = 64 << 20;

    /** {@link #run} with another output limit (tests). */
    ExecResult run(ExecRequest request, byte[] stdin, Duration timeout, int outputLimit)
            throws IOException, TimeoutException, InterruptedException {
        return CommandRun.run(connection, sessions, request, stdin, timeout, outputLimit);
    }

    /** Round trip of a core.ping. */
    public Duration ping(Duration timeout) throws IOException, TimeoutException, InterruptedException {
        long t0 = System.nanoTime();
        connection.calls.callAndAwait(MessageType.CORE_PING, timeout, "core.pong");
        return Duration.ofNanos(System.nanoTime() - t0);
    }

    /** Marks the agent active (core.touch) and returns its activity counter. */
    public long touch(Duration timeout) throws IOException, TimeoutException, InterruptedException {
        Frame reply = connection.calls.callAndAwait(MessageType.CORE_TOUCH, timeout, "core.touched");
        return ((Touched) reply.payload()).activitySeq();
    }

    /**
     * Sets the guest's clock to this host's: sends core.clock.sync with the host's wall clock (read
     * as the frame is written) on id 0, the control channel, and a core.ping right after it, and
     * waits for the pong. The agent handles a connection's frames in order, so once the pong is here
     * it has taken the sync: it stepped CLOCK_REALTIME to the time sent if the guest's clock was off
     * by more than 100 ms, and left it alone otherwise (it answers neither; an agent that may not set
     * the clock, one not run as root, only logs that it could not). For a guest clock that fell
     * behind while its VM was paused, restored from a snapshot or its host suspended; a relay started
     * with QEMU's QMP socket ({@code agentctl relay --qmp}) sends one itself when QEMU resumes the VM
     * and after each core.ready.
     *
     * @return the round trip: the guest's clock was set (if it was) to a host time at most this old
     * @throws AgentErrorException it was refused (core.error on id 0 before the pong): by a relay in
     *         front that does not pass core.clock.sync on (one from before 2026-12-07, or the
     *         reference relay, which takes only core.shutdown on id 0), and nothing reached the agent
     * @throws TimeoutException    no pong within {@code timeout}
     */
    public Duration syncClock(Duration timeout) throws IOException, TimeoutException, InterruptedException {
        return connection.calls.syncClock(timeout);
    }

    /** Asks the agent to shut down (core.shutdown has no reply; see {@link #awaitClosed}). */
    public void shutdown() throws IOException {
        connection.send(new Frame(Protocol.CONTROL_ID, MessageType.CORE_SHUTDOWN, null));
    }

    /**
     * Sends one message on a fresh id and completes with the terminal frame the agent answers on that
     * id; a core.error completes it with {@link AgentErrorException}. For messages the agent answers
     * with a terminal frame (ping, touch; or any frame sent to provoke a core.error). Cancelling the
     * future frees the id.
     */
    public CompletableFuture<Frame> call(MessageType type, Payload payload) throws IOException {
        return connection.calls.call(type, payload, Timeouts.NO_DEADLINE);
    }

    /**
     * The guest's files through this connection (the fs family): upload, download, streams, stat,
     * list and the rest; see {@link GuestFiles}.
     */
    public GuestFiles files() {
        return GuestFiles.over(new FsConnection(connection));
    }

    /** False once the connection has ended, or a write to it has failed (nothing more can be sent). */
    public boolean isOpen() {
        return connection.isOpen();
    }

    /** Waits until the connection has closed (e.g. after {@link #shutdown}); false if still open. */
    public boolean awaitClosed(Duration timeout) throws InterruptedException {
        return connection.end.awaitClosed(Timeouts.nanos(timeout));
    }

    /** Closes the connection; every open session and call fails with {@link ConnectionLostException}. */
    @Override
    public void close() {
        connection.close();
    }

    /** {@link AgentConnection#send(Frame...)} (tests). */
    void send(Frame... frames) throws IOException {
        connection.send(frames);
    }
}
