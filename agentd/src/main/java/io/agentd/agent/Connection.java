package io.agentd.agent;

import io.agentd.agent.fs.FsService;
import io.agentd.agent.session.SessionDefaults;
import io.agentd.agent.session.SessionHost;
import io.agentd.agent.session.Sessions;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.agent.transport.HeldIds;
import io.agentd.agent.transport.HostEndpoint;
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
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecResize;
import io.agentd.protocol.payload.ExecSignal;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.RelayClientRange;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.Touched;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One host connection: its own link (queue, backpressure), its own id space, its own core.ready, and
 * the answer to every frame it sends: control messages here (ready, ping, touch, shutdown, frames
 * the agent does not take), clock.sync to {@link ClockStep}, the relay's notices to
 * {@link RelayNotices}, exec messages to the agent-wide {@link Sessions} with this connection as
 * their {@link SessionHost}, fs messages to this connection's {@link FsService} (its handles are the
 * connection's), and a frame its link's codec refused to {@link CodecRefusals}. What the host owns
 * ends, per the connection's {@link HostLossPolicy}, when the host goes ({@link #hostLost}) or a
 * relay client of it does ({@link RelayNotices#clientGone}); other per-owner state hears it through
 * {@link OwnerGoneListener}s. A relay may also ask that one client's output be held while it does
 * not read ({@link HeldIds}). Loop thread only.
 */
public final class Connection implements PortLink.Listener, HostEndpoint {
    private static final Logger log = LoggerFactory.getLogger(Connection.class);

    private final long number;
    private final String describe;
    private final PortLink link;
    /**
     * The ids whose output the relay asked to hold (shared with this connection's FsService; held
     * and released by RelayNotices, all released at the host's loss).
     */
    final HeldIds held;
    private final SessionHost host;
    private final HostLossPolicy policy;
    /** What the connections share (ClockStep and RelayNotices read their lines' throttles here too). */
    final Agent agent;
    /** The agent's sessions, every connection's (CodecRefusals tells them of a refused frame too). */
    final Sessions sessions;
    private final List<OwnerGoneListener> ownerGoneListeners = new ArrayList<>();
    /**
     * The fs family for this connection's hosts (told of a relay client's range by RelayNotices and of
     * a refused frame by CodecRefusals too); null: fs frames are refused (unsupported_message_type).
     */
    final FsService fs;
    /** A socket connection, one of the agent's --max-connections (a port's is not). */
    private final boolean countsAgainstLimit;
    /**
     * A command of this host's is being started, off the loop ({@link #startSession}), or its attach
     * waits for another host's hang-up ({@link #attach}): the host's later frames wait in the link
     * meanwhile, and so does its loss.
     */
    private boolean starting;
    /** The host was lost while a command was starting ({@link #hostLost}'s {@code over}); null: not lost. */
    private Boolean lostWhileStarting;

    Connection(long number, String describe, PortLink link, HeldIds held, HostLossPolicy policy, Agent agent,
            Sessions sessions, FsService fs, boolean countsAgainstLimit) {
        this.number = number;
        this.countsAgainstLimit = countsAgainstLimit;
        this.describe = describe;
        this.link = link;
        this.held = held;
        this.host = new SessionHost(number, link, held, policy == HostLossPolicy.KEEP_SESSIONS);
        this.policy = policy;
        this.agent = agent;
        this.sessions = sessions;
        this.fs = fs;
        link.setListener(this);
    }

    /** Its number, unique for the agent's life. */
    public long number() {
        return number;
    }

    /** The connection as sessions see it. */
    public SessionHost sessionHost() {
        return host;
    }

    boolean countsAgainstLimit() {
        return countsAgainstLimit;
    }

    public HostLossPolicy policy() {
        return policy;
    }

    @Override
    public PortLink link() {
        return link;
    }

    /** {@code listener} hears of every owner of this connection's ids that goes (see {@link OwnerGoneListener}). */
    public void addOwnerGoneListener(OwnerGoneListener listener) {
        ownerGoneListeners.add(listener);
    }

    @Override
    public void onConnected() {
        long now;
        try {
            now = Os.clockNanos(LibC.CLOCK_BOOTTIME);
        } catch (OsException e) {
            now = 0;
        }
        Agent.StartTimes times = agent.startTimes();
        List<String> features = new ArrayList<>(
                List.of(Ready.FEATURE_STDIN_WINDOW, Ready.FEATURE_PROFILE, Ready.FEATURE_SESSIONS,
                        Ready.FEATURE_RELAY_FLOW, Ready.FEATURE_SESSION_DETACH, Ready.FEATURE_RELAY_EXIT_DROPPED));
        if (fs != null) {
            features.add(Ready.FEATURE_FS_EXT);
        }
        // The grace and drain say when a timed-out session's exited is owed (a host's bound on its wait).
        SessionDefaults defaults = sessions.defaults();
        link.greet(new Frame(Protocol.CONTROL_ID, MessageType.CORE_READY, new Ready(times.processStartNanos(),
                times.mainStartNanos(), now, agent.version(), features, defaults.graceMillis(), defaults.drainMillis())));
        sessions.hostReturned(number); // on a port: the exits queued while nobody was there are read from now
        if (agent.hostEvents.takeConnectionLine()) {
            log.info("host connected: connection {} ({}), core.ready sent (agent {})", number, describe,
                    agent.version());
        }
    }

    @Override
    public void onFrame(Frame frame) {
        long activity = agent.noteActivity();
        long id = frame.id();
        if (idInUseByTheOtherFamily(frame)) {
            return;
        }
        switch (frame.type()) {
            case CORE_PING -> link.send(new Frame(id, MessageType.CORE_PONG, Empty.INSTANCE));
            case CORE_TOUCH -> link.send(new Frame(id, MessageType.CORE_TOUCHED, new Touched(activity)));
            case CORE_CLOCK_SYNC -> ClockStep.sync(this, id, ((ClockSync) frame.payload()).unixTimeNanos());
            case CORE_SHUTDOWN -> agent.shutdownForHost("core.shutdown from connection " + number + " (" + describe + ")");
            case CORE_RELAY_CLIENT_DISCONNECTED -> RelayNotices.clientGone(this, id, (RelayClientRange) frame.payload());
            case CORE_RELAY_CLIENT_PAUSED -> RelayNotices.clientPaused(this, id, (RelayClientRange) frame.payload());
            case CORE_RELAY_CLIENT_RESUMED -> RelayNotices.clientResumed(this, id, (RelayClientRange) frame.payload());
            case EXEC_REQUEST -> startSession(id, (ExecRequest) frame.payload());
            case EXEC_STDIN -> sessions.onStdin(host, id, ((ExecData) frame.payload()).data());
            case EXEC_RESIZE -> {
                ExecResize r = (ExecResize) frame.payload();
                sessions.onResize(host, id, r.rows(), r.cols());
            }
            case EXEC_SIGNAL -> sessions.onSignal(host, id, ((ExecSignal) frame.payload()).signal());
            case SESSION_LIST -> sessions.onList(host, id);
            case SESSION_ATTACH -> attach(id, (SessionAttach) frame.payload());
            case SESSION_DETACH -> sessions.onDetach(host, id);
            case CORE_RELAY_EXIT_DROPPED -> sessions.onExitDropped(host, id);
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
            default -> link.refuse(id, ErrorKind.UNSUPPORTED_MESSAGE_TYPE, frame.type().wire(),
                    frame.type().wire() + " is sent by the agent, not to it");
        }
    }

    /**
     * The spawn runs off the loop (DESIGN.md decision 1), and until started or failed is queued the
     * host's later frames wait in the link, undispatched ({@link PortLink#holdInput}): its stdin, a
     * signal or a second request for the id never meets a command that has not been exec'd, and its
     * frames keep their order. Other hosts, sessions and timers are served meanwhile. The host's loss
     * waits too ({@link #hostLost}), so that its policy finds the new session among the others.
     */
    private void startSession(long id, ExecRequest req) {
        starting = true;
        link.holdInput();
        sessions.onExecRequest(host, id, req, this::sessionStartAnswered);
    }

    /**
     * As a start: an attach to a session whose holder has gone, its hang-up waiting for a command of
     * that holder's being started, is answered once that hang-up has run (a later turn), and this
     * host's later frames (its stdin, a resize for the id) wait for the answer, as its loss does.
     */
    private void attach(long id, SessionAttach attach) {
        starting = true;
        link.holdInput();
        sessions.onAttach(host, id, attach, this::sessionStartAnswered);
    }

    private void sessionStartAnswered() {
        starting = false;
        try {
            if (lostWhileStarting != null) {
                boolean over = lostWhileStarting;
                lostWhileStarting = null;
                hostLost(over);
            }
        } finally {
            link.releaseInput(); // whatever the loss threw: held for ever, the host's input would never be read
        }
    }

    /**
     * One id, one request, whatever its family: a request that would start on an id still in use by
     * a request of the other family (a running session, or an fs request in progress) is refused
     * invalid_session, as one on an id in use within its own family is (each family checks its own).
     * Otherwise both would answer on that id, their frames interleaved.
     */
    private boolean idInUseByTheOtherFamily(Frame frame) {
        long id = frame.id();
        if (id == Protocol.CONTROL_ID) {
            return false; // refused by the family itself: id 0 is the control channel
        }
        String use;
        switch (frame.type()) {
            case EXEC_REQUEST, SESSION_ATTACH, SESSION_LIST -> {
                if (fs == null || !fs.inProgress(id)) {
                    return false;
                }
                use = "an fs request in progress";
            }
            case FS_REQUEST -> {
                if (fs == null || !sessions.isRunning(host, id)) {
                    return false;
                }
                use = "a running session";
            }
            default -> {
                return false;
            }
        }
        link.refuse(id, ErrorKind.INVALID_SESSION, frame.type().wire(), "id " + id + " is in use by " + use);
        if (frame.type() == MessageType.FS_REQUEST) {
            fs.refusedBeforeStart(id, (FsRequest) frame.payload());
        }
        return true;
    }

    private void refuseUnserved(Frame frame) {
        link.refuse(frame.id(), ErrorKind.UNSUPPORTED_MESSAGE_TYPE, frame.type().wire(),
                frame.type().wire() + " is not served by this agent");
    }

    @Override
    public void onProtocolError(ProtocolException e) {
        CodecRefusals.refused(this, e);
    }

    @Override
    public void onOutputResumed() {
        sessions.onOutputResumed(host);
        if (fs != null) {
            fs.onOutputResumed();
        }
    }

    @Override
    public void onFlushed() {
        agent.onFlushed();
    }

    /**
     * The host went away: the one place where {@link HostLossPolicy} is applied to a connection's
     * sessions. Killed sessions send nothing (nobody would read it). Kept ones run on: on a port
     * (not {@code over}) still routed here, their output waiting for the host's return (and kept in
     * their rings from the hang-up, for a returning relay that drops what waited); on a socket
     * detached, since nobody can come back to this connection.
     */
    @Override
    public void hostLost(boolean over) {
        if (starting) {
            // Applied once the command has started or failed (sessionStartAnswered), as it was when the
            // spawn ran on the loop: the policy then finds the new session with the others.
            lostWhileStarting = over || Boolean.TRUE.equals(lostWhileStarting);
            return;
        }
        boolean wasHolding = held.releaseAll(); // a relay's holds end with it: whoever comes back holds nothing
        ownerGone(OwnedIds.ALL, over);
        if (wasHolding && !over) {
            onOutputResumed(); // sessions kept for the host's return read on, up to the link's own mark
        }
        if (over) {
            sessions.connectionClosed(number);
            agent.closed(this);
        }
    }

    /**
     * The owner of {@code ids} left: the host ({@link #hostLost}), or a relay client of it
     * ({@link RelayNotices#clientGone}).
     */
    void ownerGone(OwnedIds ids, boolean over) {
        switch (policy) {
            case KILL_SESSIONS -> sessions.killOwned(number, ids);
            case KEEP_SESSIONS -> {
                if (over || !ids.everyId()) {
                    sessions.detachOwned(number, ids); // their ids are free for whoever comes next
                } else {
                    // A port: their output waits in its queue for the host's return, and is kept in their
                    // rings too, for the case nobody reads that queue (a relay restarted drops it).
                    sessions.keptForTheHostsReturn(number);
                    if (sessions.count(number) > 0 && agent.hostEvents.takeConnectionLine()) {
                        // At the rate of the connection lines: a port's host can come and go in a loop.
                        log.info("host gone: {} session(s) kept running for its return, their output kept from"
                                + " here", sessions.count(number));
                    }
                }
            }
        }
        if (fs != null) {
            // fs handles belong to their owner, whatever the policy for sessions.
            if (ids.everyId()) {
                fs.onOwnerGone();
            } else {
                fs.onIdRangeGone(ids.start(), ids.endExclusive());
            }
        }
        for (OwnerGoneListener l : List.copyOf(ownerGoneListeners)) {
            l.ownerGone(ids, policy, over);
        }
    }

    /**
     * The agent is stopping and every session's exit is queued: this host's fs requests in progress
     * are answered (ECANCELED) before the flush ({@link FsService#agentShuttingDown}).
     */
    void agentShuttingDown() {
        if (fs != null) {
            fs.agentShuttingDown();
        }
    }

    /** An fs request of this host's is still to be answered (the agent's flush waits for it). */
    boolean fsAnswersPending() {
        return fs != null && fs.hasRequestsInProgress();
    }

    /**
     * The agent stops: uploads in progress end, leaving their destinations as they were (an fs
     * request still unanswered then, its disk stuck past the flush's time, ends unanswered).
     */
    void agentStopping() {
        if (fs != null) {
            fs.onOwnerGone();
        }
    }

    @Override
    public String toString() {
        return "connection " + number + " (" + describe + ")";
    }
}
