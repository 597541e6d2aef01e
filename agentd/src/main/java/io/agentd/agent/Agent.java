package io.agentd.agent;

import io.agentd.agent.fs.FsService;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.session.Sessions;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.agent.transport.HostLossPolicy;
import io.agentd.agent.transport.PortLink;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.ProtocolException;
import io.agentd.protocol.payload.ClockSync;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecResize;
import io.agentd.protocol.payload.ExecSignal;
import io.agentd.protocol.payload.FailureKind;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.RelayClientDisconnected;
import io.agentd.protocol.payload.Touched;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's answer to every frame from the host: control messages here (ready, ping, touch,
 * clock.sync, shutdown, refusals), exec messages to {@link Sessions}, fs messages to
 * {@link FsService}. Loop thread only.
 */
public final class Agent implements PortLink.Listener {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);
    /** clock.sync steps the clock only when it is off by more than this. */
    static final long CLOCK_STEP_THRESHOLD_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /** After the last session's exited, how long the host gets to read what is queued. */
    private static final long FLUSH_MILLIS = 5000;

    /**
     * @param processStartNanos CLOCK_BOOTTIME when the agent process started (boot_time_ns)
     * @param mainStartNanos    CLOCK_BOOTTIME when main() began (init_time_ns)
     */
    public record StartTimes(long processStartNanos, long mainStartNanos) {}

    private enum Phase { SERVING, STOPPING_SESSIONS, FLUSHING, STOPPED }

    private final Loop loop;
    private final PortLink link;
    private final Sessions sessions;
    private final StartTimes times;
    private final String version;
    private long activitySeq;
    private Phase phase = Phase.SERVING;
    /** The fs family for the connected host; null: fs frames are refused (unsupported_message_type). */
    private FsService fs;

    public Agent(Loop loop, PortLink link, Sessions sessions, StartTimes times, String version) {
        this.loop = loop;
        this.link = link;
        this.sessions = sessions;
        this.times = times;
        this.version = version;
        sessions.setOnIdle(this::onSessionsIdle);
    }

    /** Serves the fs family with {@code fs} (and advertises {@code fs_ext}). */
    public void setFs(FsService fs) {
        this.fs = fs;
    }

    @Override
    public void onConnected() {
        long now;
        try {
            now = Os.clockNanos(LibC.CLOCK_BOOTTIME);
        } catch (OsException e) {
            now = 0;
        }
        List<String> features = new ArrayList<>(List.of(Ready.FEATURE_STDIN_WINDOW, Ready.FEATURE_PROFILE));
        if (fs != null) {
            features.add(Ready.FEATURE_FS_EXT);
        }
        link.send(new Frame(Protocol.CONTROL_ID, MessageType.CORE_READY,
                new Ready(times.processStartNanos(), times.mainStartNanos(), now, version, features)));
        log.info("host connected: core.ready sent (agent {})", version);
    }

    @Override
    public void onFrame(Frame frame) {
        activitySeq++;
        long id = frame.id();
        switch (frame.type()) {
            case CORE_PING -> link.send(new Frame(id, MessageType.CORE_PONG, Empty.INSTANCE));
            case CORE_TOUCH -> link.send(new Frame(id, MessageType.CORE_TOUCHED, new Touched(activitySeq)));
            case CORE_CLOCK_SYNC -> syncClock(id, ((ClockSync) frame.payload()).unixTimeNanos());
            case CORE_SHUTDOWN -> shutdown("core.shutdown from the host");
            case EXEC_REQUEST -> sessions.onExecRequest(id, (ExecRequest) frame.payload());
            case EXEC_STDIN -> sessions.onStdin(id, ((ExecData) frame.payload()).data());
            case EXEC_RESIZE -> {
                ExecResize r = (ExecResize) frame.payload();
                sessions.onResize(id, r.rows(), r.cols());
            }
            case EXEC_SIGNAL -> sessions.onSignal(id, ((ExecSignal) frame.payload()).signal());
            case FS_REQUEST -> {
                if (fs != null) {
                    fs.onRequest(id, (FsRequest) frame.payload());
                } else {
                    refuseUnserved(frame);
                }
            }
            case FS_DATA -> {
                if (fs != null) {
                    fs.onData(id, ((ExecData) frame.payload()).data());
                } else {
                    refuseUnserved(frame);
                }
            }
            case CORE_RELAY_CLIENT_DISCONNECTED -> {
                RelayClientDisconnected gone = (RelayClientDisconnected) frame.payload();
                if (fs != null) {
                    fs.onIdRangeGone(gone.idStart(), gone.idEndExclusive());
                }
            }
            default -> link.refuse(id, ErrorKind.UNSUPPORTED_MESSAGE_TYPE, frame.type().wire(),
                    frame.type().wire() + " is sent by the agent, not to it");
        }
    }

    private void refuseUnserved(Frame frame) {
        link.refuse(frame.id(), ErrorKind.UNSUPPORTED_MESSAGE_TYPE, frame.type().wire(),
                frame.type().wire() + " is not served by this agent");
    }

    @Override
    public void onProtocolError(ProtocolException e) {
        if (e.kind() == ErrorKind.LIMIT_EXCEEDED) {
            refuseOverLimit(e);
        } else if (e.kind().losesStream()) {
            // One line, through the refusal log and its rate limit: a host sending garbage can
            // lose the stream on every read.
            link.refuse(Protocol.CONTROL_ID, e.kind().replyKind(), e.type(),
                    e.getMessage() + " (" + e.kind().wire() + "; the input held was discarded)");
        } else {
            link.refuse(e.hasId() ? e.id() : Protocol.CONTROL_ID, e.kind().replyKind(), e.type(), e.getMessage());
        }
    }

    /**
     * A request past the request limits was refused by the codec before anything was copied. An
     * exec.request is answered like any request the agent cannot run: failed bad_args, which ends
     * that id. On the id of a running session that would read as the session's end, so there (and
     * for any other frame) it is a core.error, which leaves the session alone.
     */
    private void refuseOverLimit(ProtocolException e) {
        boolean execRequest = MessageType.EXEC_REQUEST.wire().equals(e.type());
        if (execRequest && e.hasId() && e.id() != Protocol.CONTROL_ID && !sessions.isRunning(e.id())) {
            link.refuseRequest(e.id(), ExecFailed.of(FailureKind.BAD_ARGS, null, null, e.getMessage(), null));
            return;
        }
        link.refuse(e.hasId() ? e.id() : Protocol.CONTROL_ID, ErrorKind.INVALID_PAYLOAD, e.type(), e.getMessage());
    }

    @Override
    public void onOutputResumed() {
        sessions.onOutputResumed();
        if (fs != null) {
            fs.onOutputResumed();
        }
    }

    @Override
    public void onFlushed() {
        if (phase == Phase.FLUSHING) {
            stop("every frame written");
        }
    }

    /**
     * The host went away: the one place where {@link HostLossPolicy} is applied. Killed sessions
     * send nothing (nobody would read it); kept ones run on and their output waits for the host.
     */
    public void onHostLost(HostLossPolicy policy) {
        if (fs != null) {
            fs.onOwnerGone(); // fs handles belong to the connection, whatever the policy for sessions
        }
        switch (policy) {
            case KILL_SESSIONS -> {
                sessions.abandonAll();
                if (phase != Phase.SERVING) {
                    stop("host gone during shutdown");
                }
            }
            case KEEP_SESSIONS -> {
                if (!sessions.isEmpty()) {
                    log.info("host gone: {} session(s) kept running for its return", sessions.count());
                }
            }
        }
    }

    private void syncClock(long id, long hostNanos) {
        if (hostNanos < 0) {
            link.refuse(id, ErrorKind.INVALID_PAYLOAD, MessageType.CORE_CLOCK_SYNC.wire(),
                    "unix_time_nanos beyond year 2262");
            return;
        }
        try {
            long offset = hostNanos - Os.clockNanos(LibC.CLOCK_REALTIME);
            if (!needsStep(offset)) {
                log.debug("clock.sync: off by {} ms, left alone", TimeUnit.NANOSECONDS.toMillis(offset));
                return;
            }
            Os.setClockNanos(LibC.CLOCK_REALTIME, hostNanos);
            log.info("clock.sync: clock stepped by {} ms", TimeUnit.NANOSECONDS.toMillis(offset));
        } catch (OsException e) {
            log.warn("clock.sync: clock not stepped: {}", e.getMessage());
        }
    }

    static boolean needsStep(long offsetNanos) {
        return Math.abs(offsetNanos) > CLOCK_STEP_THRESHOLD_NANOS;
    }

    /**
     * core.shutdown or SIGTERM: SIGTERM every session's group, SIGKILL after the grace, an exited for
     * each, flush, and the loop stops (the agent then exits 0).
     */
    public void shutdown(String reason) {
        if (phase != Phase.SERVING) {
            return;
        }
        log.info("shutting down ({}): {} session(s) running", reason, sessions.count());
        phase = Phase.STOPPING_SESSIONS;
        sessions.beginShutdown();
        if (sessions.isEmpty()) {
            onSessionsIdle();
        }
    }

    private void onSessionsIdle() {
        if (phase != Phase.STOPPING_SESSIONS) {
            return;
        }
        phase = Phase.FLUSHING;
        if (link.isFlushed()) {
            stop("nothing left to send");
            return;
        }
        loop.schedule(FLUSH_MILLIS, () -> stop(link.queuedBytes() + " bytes the host did not read"));
    }

    private void stop(String why) {
        if (phase == Phase.STOPPED) {
            return;
        }
        phase = Phase.STOPPED;
        log.info("agent stopping: {}", why);
        if (fs != null) {
            fs.onOwnerGone(); // atomic uploads in progress leave their destinations unchanged
        }
        loop.stop();
    }
}
