package io.agentd.client;

import io.agentd.client.relay.IdRange;
import io.agentd.client.relay.RelayGreeting;
import io.agentd.client.transport.AgentAddress;
import io.agentd.client.transport.StreamChannel;
import io.agentd.client.fs.GuestFiles;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Payload;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionInfo;
import io.agentd.protocol.payload.SessionListResult;
import io.agentd.protocol.payload.Touched;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.LongFunction;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
    private static final Logger log = LoggerFactory.getLogger(AgentClient.class);
    /** What each of a session's stdout() and stderr() holds unless the caller says otherwise. */
    public static final int DEFAULT_STREAM_BUFFER_BYTES = 256 * 1024;
    /** While connecting: how long to wait for core.ready before (and between) probing with a ping. */
    private static final Duration READY_PROBE_INTERVAL = Duration.ofSeconds(1);

    private final String peer;
    private final LiveIds ids = new LiveIds();
    private final AgentLines lines;
    private final HoldNotices holdNotices;
    /** The agent's core.ready (what it offers) and the other frames on id 0. */
    private final ControlChannel control;
    private final ConnectionEnd end;
    /** Reads and dispatches every frame; runs the OutputListeners. */
    private final FrameReader reader;
    private final FrameWriter writer;
    /** Opens ids for sessions, fs requests and calls; the calls answered by one frame. */
    private final Calls calls;

    private AgentClient(StreamChannel channel, String peer, boolean peerChecksUid) {
        // Each part is made after the parts it uses. The hold notices write through this::send, so
        // through the writer made below: a notice is queued only for a session, and none exists
        // before this returns. The reader starts last, once everything a frame (and a listener run
        // for it) can reach is there.
        this.peer = peer;
        this.lines = new AgentLines(log, peer);
        this.holdNotices = new HoldNotices(peer, this::send);
        this.control = new ControlChannel(peer, ids, holdNotices, lines);
        this.end = new ConnectionEnd(channel, peer, ids, control, holdNotices, lines);
        this.reader = new FrameReader(channel, peer, peerChecksUid, ids, control, end, lines);
        this.writer = new FrameWriter(channel, peer, end, reader);
        this.calls = new Calls(peer, ids, writer, reader, control);
        reader.start();
    }

    /** {@link FrameReader#refuseWaitOnReader}: for whatever waits on this connection. */
    void refuseWaitOnReader(String what) {
        reader.refuseWaitOnReader(what);
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
        long deadline = Timeouts.deadline(readyTimeout);
        StreamChannel channel;
        try {
            channel = address.open(readyTimeout);
        } catch (ClosedByInterruptException e) {
            throw interruptedBy(e, "interrupted while connecting to " + address);
        }
        AgentClient client = new AgentClient(channel, address.toString(), address instanceof AgentAddress.Unix);
        try {
            client.awaitReady(deadline, readyTimeout);
            return client;
        } catch (IOException | TimeoutException | InterruptedException | RuntimeException e) {
            client.close();
            throw e;
        }
    }

    /** @param timeout what the caller gave, for the message */
    private void awaitReady(long deadline, Duration timeout) throws IOException, TimeoutException, InterruptedException {
        List<CompletableFuture<Frame>> probes = new ArrayList<>();
        try {
            while (true) {
                long left = Timeouts.left(deadline);
                if (left <= 0) {
                    throw new TimeoutException("connected to " + peer + " but the agent was not ready within " + Timeouts.text(timeout)
                            + (reader.anyByteCame() ? "" : "; nothing at all came on the connection (no agent has started"
                                    + " behind it yet, or it is a VM's chardev socket that another client, such as"
                                    + " its relay, holds: QEMU serves one connection at a time)"));
                }
                try {
                    control.awaitReady(Math.min(left, READY_PROBE_INTERVAL.toNanos()));
                    return;
                } catch (TimeoutException e) {
                    CompletableFuture<Frame> pong;
                    try {
                        pong = calls.call(MessageType.CORE_PING, Empty.INSTANCE, deadline);
                    } catch (AgentTimeoutException notSent) {
                        continue; // the peer reads nothing: the deadline above says so
                    }
                    pong.thenRun(control::foundReadyByPing);
                    probes.add(pong);
                } catch (ExecutionException e) {
                    throw ((AgentException) e.getCause()).forCaller();
                }
            }
        } finally {
            probes.forEach(p -> p.cancel(false)); // frees the ids of pings that were never answered
        }
    }

    /** The ids this client uses behind a relay (its greeting's); null when connected to an agent directly. */
    public IdRange relayRange() {
        return ids.relayRange();
    }

    /** The agent's core.ready of this connection; null when the agent was found by a ping instead. */
    public Ready ready() {
        return control.firstReady();
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
        return startSession(request, null, 0, false, Timeouts.NO_DEADLINE);
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
        return startSession(request, null, bufferBytes, false, Timeouts.NO_DEADLINE);
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
        return startSession(request, listener, 0, false, Timeouts.NO_DEADLINE);
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
        return startSession(request, listener, 0, true, Timeouts.NO_DEADLINE);
    }

    /** @param deadline for the request's send, as {@link #send(long, Frame...)} */
    ExecSession startSession(ExecRequest request, OutputListener listener, int streamCapacity,
            boolean withoutInput, long deadline) throws IOException {
        if (request.profile() != null && !control.offers(Ready.FEATURE_PROFILE)) {
            // An agent that does not know the field would run the command under its own profile.
            throw new FeatureNotOfferedException(Ready.FEATURE_PROFILE, "the agent does not take a per-request"
                    + " profile (its core.ready does not list \"" + Ready.FEATURE_PROFILE + "\"); the command was not sent");
        }
        if (request.startDetached() && !request.detachable()) {
            throw new IllegalArgumentException("startDetached needs detachable (ExecRequest.withDetachable)");
        }
        if (request.detachable()) {
            // An agent that does not know the field would tie the session to this connection.
            requireSessions("a detachable session; the command was not sent");
        }
        // Asked for only when offered: an agent that does not know the field would never grant credit.
        // Not for a session detached at its start, nor one without input: no stdin data is ever sent on its id.
        boolean flowControl = agentGrantsStdinCredit() && !request.startDetached() && !withoutInput;
        ExecRequest sent = request.withStdinWindow(flowControl);
        try {
            return calls.open(id -> {
                ExecSession s = new ExecSession(this, id, request.tty(), listener, streamCapacity,
                        flowControl ? StdinWindow.granted(() -> refuseWaitOnReader("stdin credit")) : StdinWindow.unlimited());
                if (request.startDetached()) {
                    s.expectDetachedAtStart();
                }
                if (withoutInput) {
                    s.stdinEndedWithRequest();
                }
                return s;
            }, ExecSession::receiver, s -> {
                Frame requestFrame = new Frame(s.id(), MessageType.EXEC_REQUEST, sent);
                return withoutInput
                        ? new Frame[] {requestFrame, new Frame(s.id(), MessageType.EXEC_STDIN, ExecData.EOF)}
                        : new Frame[] {requestFrame};
            }, deadline);
        } catch (IllegalArgumentException unencodable) {
            // The encoder refused the request's frame (megabytes of arguments or environment), before
            // a byte of it was written and with its id given up (Calls): it fails as one past the
            // agent's own limit fails there, not as agentctl's "internal error".
            throw new ExecFailedException(io.agentd.protocol.payload.ExecFailed.of(
                    io.agentd.protocol.payload.FailureKind.BAD_ARGS, 7, "E2BIG",
                    "the request was not sent: " + unencodable.getMessage() + " (its command, arguments and environment)",
                    "request"));
        }
    }

    // ---- sessions extension (docs/PROTOCOL-EXTENSIONS.md, "Sessions") --------------------------

    /** True when the agent's core.ready listed {@code sessions}: detachable sessions, list and attach. */
    public boolean agentKeepsSessions() {
        return control.offers(Ready.FEATURE_SESSIONS);
    }

    /**
     * True when the agent's latest core.ready listed {@code session_detach}: {@link ExecSession#detach}
     * works. False while none came (the agent was found by a ping).
     */
    public boolean agentDetachesSessions() {
        return control.offers(Ready.FEATURE_SESSION_DETACH);
    }

    private void requireSessions(String what) throws FeatureNotOfferedException {
        if (!agentKeepsSessions()) {
            throw new FeatureNotOfferedException(Ready.FEATURE_SESSIONS, "the agent does not keep sessions (its core.ready does not list \""
                    + Ready.FEATURE_SESSIONS + "\"): cannot ask for " + what);
        }
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
        requireSessions("the list of sessions");
        Frame reply = calls.callAndAwait(MessageType.SESSION_LIST, timeout, MessageType.SESSION_LIST_RESULT.wire());
        return (SessionListResult) reply.payload();
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
        requireSessions("an attach");
        boolean flowControl = agentGrantsStdinCredit();
        return calls.open(id -> new ExecSession(this, id, false, MessageType.SESSION_ATTACH, listener, 0,
                flowControl ? StdinWindow.granted(() -> refuseWaitOnReader("stdin credit")) : StdinWindow.unlimited()),
                ExecSession::receiver, attached -> new Frame[] {new Frame(attached.id(), MessageType.SESSION_ATTACH,
                        new SessionAttach(session, from, flowControl))}, Timeouts.NO_DEADLINE);
    }

    /** {@link #attach(long, Long, OutputListener)} whose output is read with {@link ExecSession#nextOutput}. */
    public ExecSession attach(long session, Long from) throws IOException {
        return attach(session, from, null);
    }

    /** True when the agent's core.ready listed {@code stdin_window}: sessions started now are flow-controlled. */
    public boolean agentGrantsStdinCredit() {
        return control.offers(Ready.FEATURE_STDIN_WINDOW);
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
        return CommandRun.run(this, request, stdin, timeout, outputLimit);
    }

    /**
     * An interrupt that reached a call as an IOException ({@code cause}), as the InterruptedException
     * the call declares: the flag is cleared, as throwing one implies (as every wait here does).
     */
    static InterruptedException interruptedBy(IOException cause, String message) {
        Thread.interrupted();
        InterruptedException interrupted = new InterruptedException(message);
        interrupted.initCause(cause);
        return interrupted;
    }

    /** Round trip of a core.ping. */
    public Duration ping(Duration timeout) throws IOException, TimeoutException, InterruptedException {
        long t0 = System.nanoTime();
        calls.callAndAwait(MessageType.CORE_PING, timeout, "core.pong");
        return Duration.ofNanos(System.nanoTime() - t0);
    }

    /** Marks the agent active (core.touch) and returns its activity counter. */
    public long touch(Duration timeout) throws IOException, TimeoutException, InterruptedException {
        Frame reply = calls.callAndAwait(MessageType.CORE_TOUCH, timeout, "core.touched");
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
        return calls.syncClock(timeout);
    }

    /** Asks the agent to shut down (core.shutdown has no reply; see {@link #awaitClosed}). */
    public void shutdown() throws IOException {
        send(new Frame(Protocol.CONTROL_ID, MessageType.CORE_SHUTDOWN, null));
    }

    /**
     * Sends one message on a fresh id and completes with the terminal frame the agent answers on that
     * id; a core.error completes it with {@link AgentErrorException}. For messages the agent answers
     * with a terminal frame (ping, touch; or any frame sent to provoke a core.error). Cancelling the
     * future frees the id.
     */
    public CompletableFuture<Frame> call(MessageType type, Payload payload) throws IOException {
        return calls.call(type, payload, Timeouts.NO_DEADLINE);
    }

    /**
     * The guest's files through this connection (the fs family): upload, download, streams, stat,
     * list and the rest; see {@link GuestFiles}.
     */
    public GuestFiles files() {
        return GuestFiles.over(new FsConnection(this));
    }

    /** True when the latest core.ready listed {@code fs_ext} (the files view then uses its fields). */
    boolean agentTakesFsExt() {
        return control.offers(Ready.FEATURE_FS_EXT);
    }

    /** Registers the receiver built for a fresh id and sends the frame built for it: the fs family's way in. */
    <R extends Receiver> R open(LongFunction<R> make, Function<R, Frame> first, long deadline) throws IOException {
        return calls.open(make, r -> r, r -> new Frame[] {first.apply(r)}, deadline);
    }

    /**
     * Frees {@code id} while {@code owns} says its receiver is still the caller's (a call nobody waits
     * for any longer): what the agent sends on it later is dropped as for any id that is not live.
     * Ids go up and wrap, so a freed id comes back only after every other id of the range (behind a
     * relay, 32 Mi of them): long after any late answer. Returns whether it freed it.
     */
    boolean retire(long id, Predicate<Receiver> owns) {
        return ids.retire(id, owns);
    }

    /** False once the connection has ended, or a write to it has failed (nothing more can be sent). */
    public boolean isOpen() {
        return !end.isClosed() && !writer.writesFailed();
    }

    /** Waits until the connection has closed (e.g. after {@link #shutdown}); false if still open. */
    public boolean awaitClosed(Duration timeout) throws InterruptedException {
        return end.awaitClosed(Timeouts.nanos(timeout));
    }

    /** Closes the connection; every open session and call fails with {@link ConnectionLostException}. */
    @Override
    public void close() {
        end.end(new ConnectionLostException("the connection to " + peer + " was closed by this client", null));
    }

    // ---- for sessions and fs requests (and tests) -----------------------------------------------

    /** {@link #send(long, Frame...)} without a deadline. */
    void send(Frame... frames) throws IOException {
        writer.send(Timeouts.NO_DEADLINE, frames);
    }

    /** {@link FrameWriter#send}: the frames in one write by {@code deadline}. */
    void send(long deadline, Frame... frames) throws IOException {
        writer.send(deadline, frames);
    }

    /** {@link FrameWriter#sendData(long, MessageType, byte[], int, int, long)}: data frames by {@code deadline}. */
    void sendData(long id, MessageType type, byte[] data, int off, int len, long deadline) throws IOException {
        writer.sendData(id, type, data, off, len, deadline);
    }

    /** {@link FrameWriter#sendData(long, MessageType, ByteBuffer)}: one data frame without a copy. */
    void sendData(long id, MessageType type, ByteBuffer data) throws IOException {
        writer.sendData(id, type, data);
    }

    /** The hold notices for session {@code id} ({@link HoldNotices#forSession}). */
    OutputHold.Notices holdNotices(long id) {
        return holdNotices.forSession(id);
    }

    /**
     * Whether a line about a frame a session or an fs request did not expect may be written now
     * (the caller writes it); false counts it: the agent can send such frames in a loop.
     */
    boolean takeUnexpectedFrameLine() {
        return lines.unexpected.take();
    }
}
