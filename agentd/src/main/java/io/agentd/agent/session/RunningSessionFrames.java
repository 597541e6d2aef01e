package io.agentd.agent.session;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.LogThrottle;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.agent.transport.HostOutput;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.MessageType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The host's frames for a session it runs: stdin, resize and signals (and the stdin a host's link
 * lost), each passed to its session or refused. A signal also reaches the group an ended session
 * left behind while it lingers ({@link Reaper}). Loop thread only.
 */
final class RunningSessionFrames {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class); // Sessions' lines, as before
    /**
     * The highest signal number Linux delivers (SIGRTMAX on x86-64 and arm64): the real-time signals
     * (32..64) are a session's as much as the standard ones.
     */
    private static final int MAX_SIGNAL = 64;

    private final SessionTable table;
    private final SessionLookup lookup;
    private final Reaper reaper;
    private final SessionIo io;
    /**
     * A host may signal as often as it likes (a SIGCONT loop is 20 bytes a frame): one line a second,
     * and one when the second is over counting those left out.
     */
    private final LogThrottle signalLog;

    RunningSessionFrames(Loop loop, SessionTable table, SessionLookup lookup, Reaper reaper, SessionIo io) {
        this.table = table;
        this.lookup = lookup;
        this.reaper = reaper;
        this.io = io;
        this.signalLog = new LogThrottle(loop, 1_000, log, Level.INFO, "signals sent to sessions");
    }

    void onStdin(SessionHost from, long id, byte[] data) {
        if (data.length == 0 && !table.isRouted(new SessionKey(from.connection(), id))) {
            // An end of input sent before the host could know that the session had exited or
            // failed to start (agentctl ends a command's input as it sends the request): still
            // answered, but no warning for the operator. Even on an id never seen: a session
            // ended long enough ago is no longer among the lookup's recently ended.
            from.output().refuseRace(id, ErrorKind.INVALID_SESSION, MessageType.EXEC_STDIN.wire(), "no session " + id);
            return;
        }
        Session s = lookup.live(from, id, MessageType.EXEC_STDIN);
        if (s != null) {
            s.onStdin(data);
        }
    }

    /**
     * A core.exec.stdin on {@code id} that the codec refused (the host had a core.error): the
     * session's later stdin from that host is refused too (stdin is a prefix, PROTOCOL-EXTENSIONS;
     * {@link StdinWriter#refuseLaterFrames}).
     */
    void onStdinRefusedByCodec(SessionHost from, long id) {
        Session s = table.get(new SessionKey(from.connection(), id));
        if (s != null) {
            s.refuseLaterStdin("an earlier stdin frame of this session was refused");
        }
    }

    /**
     * The link of {@code from} skipped a frame unread (its length could not be trusted), so any of
     * that host's sessions may have lost a stdin frame: each one's later stdin is refused (see
     * {@link StdinWriter#refuseLaterFrames}). Behind a relay, that is every client's: the frame's id,
     * and so its client, is unknown.
     */
    void onInputLost(SessionHost from) {
        for (Session s : table.owned(from.connection(), id -> true)) {
            s.refuseLaterStdin("the agent skipped a frame of this host's it could not read (its length was"
                    + " refused), which may have been this session's stdin");
        }
    }

    void onResize(SessionHost from, long id, int rows, int cols) {
        Session s = lookup.live(from, id, MessageType.EXEC_RESIZE);
        if (s == null) {
            return;
        }
        if (!s.isTty()) {
            from.output().refuse(id, ErrorKind.INVALID_PAYLOAD, MessageType.EXEC_RESIZE.wire(),
                    "session " + id + " has no PTY to resize");
            return;
        }
        // The rule exec.request's rows and cols follow (SpecValidation): a terminal of no rows or
        // no columns leaves full-screen programs dividing by zero.
        if (rows == 0 || cols == 0) {
            from.output().refuse(id, ErrorKind.INVALID_PAYLOAD, MessageType.EXEC_RESIZE.wire(),
                    (rows == 0 ? "rows" : "cols") + " is 0: a PTY needs at least 1 row and 1 column");
            return;
        }
        try {
            s.resize(rows, cols);
        } catch (OsException e) {
            log.warn("session {}: resize to {}x{} failed: {}", id, rows, cols, e.getMessage());
            from.output().refuse(id, ErrorKind.INVALID_PAYLOAD, MessageType.EXEC_RESIZE.wire(),
                    "the PTY refused the size " + rows + "x" + cols + ": " + e.getMessage());
        }
    }

    void onSignal(SessionHost from, long id, int signal) {
        String type = MessageType.EXEC_SIGNAL.wire();
        HostOutput host = from.output();
        if (signal < 1 || signal > MAX_SIGNAL) {
            host.refuse(id, ErrorKind.INVALID_PAYLOAD, type, "signal " + signal + " is outside 1.." + MAX_SIGNAL
                    + ", the signals Linux has");
            return;
        }
        SessionKey key = new SessionKey(from.connection(), id);
        Session s = table.get(key);
        Integer lingering = s == null ? reaper.lingeringGroup(key) : null;
        if (s == null && lingering == null) {
            lookup.refuseNoSession(from, key, type, reaper.lingersInCgroupOnly(key) ? endedGroupEmpty(id) : "no session " + id);
            return;
        }
        int pgid = s != null ? s.pid : lingering;
        // A session waiting for its killed cgroup to empty has let go of its leader: a no-op (ESRCH).
        int err = s != null ? s.signalGroup(signal) : io.killGroup(pgid, signal);
        if (signalLog.take()) {
            // id is this host's id (an attach's, after one); connection and number name the session as its
            // start and exit lines do.
            log.info("session {}: signal {} to process group {}{} connection={} number={}", id, signal, pgid,
                    err == 0 ? "" : ": " + Os.errnoName(err), from.connection(),
                    s != null ? s.number : "unknown (the session has ended; its group lingers)");
        }
        if (s == null && err == LibC.ESRCH) {
            boolean gone = reaper.groupFoundEmpty(key);
            lookup.refuseNoSession(from, key, type, gone ? "session " + id + " has ended and its processes are gone"
                    : endedGroupEmpty(id));
        }
    }

    /** The answer to a signal for an ended session of which only what left its group lives, in its cgroup. */
    private static String endedGroupEmpty(long id) {
        return "session " + id + " has ended and its process group is empty; processes that left the group live on"
                + " in its cgroup (killed when this host goes, under the kill policy)";
    }

}
