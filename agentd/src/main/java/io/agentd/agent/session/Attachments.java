package io.agentd.agent.session;

import io.agentd.agent.loop.LogThrottle;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.session.retain.OutputRing;
import io.agentd.agent.transport.HostOutput;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionAttached;
import io.agentd.protocol.payload.SessionDetached;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * A session moving between hosts (sessions extension): a host detaches it (core.session.detach),
 * any connection attaches to it on an id of its own (core.session.attach: one host at a time), and
 * an exit a relay dropped is held for an attach again (core.relay.exit.dropped). A detached session
 * reads on, its output kept in a ring ({@link SessionRoute}) and its exit held
 * ({@link SessionDirectory}). Loop thread only.
 */
final class Attachments {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class); // Sessions' lines, as before
    /** Kept output is replayed to an attacher in frames of at most this much. */
    private static final int REPLAY_PIECE_BYTES = 64 * 1024;
    /**
     * How long an attach waits, at most, for the hang-up of a holder that has gone while a command of
     * its is being started or while it is dropped (a spawn's own deadline is 5 s, a drop's linger 1 s);
     * past it the attach is answered as things stand.
     */
    static final long HOLDER_HANG_UP_WAIT_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);

    private final Loop loop;
    private final SessionTable table;
    private final SessionLookup lookup;
    private final SharedParts parts;
    private final SessionEnds ends;
    /**
     * Connections whose attach is running: a gone host's frames, dispatched by the hang-up that
     * attach ran, must not run the attacher's own hang-up under it (the attach would then route the
     * session to a connection already over, whose host-loss policy had run: held for ever).
     */
    private final Set<Long> attaching = new HashSet<>();
    /**
     * A host may attach and detach as often as it likes: one line a second for each, and one when
     * the second is over counting those left out.
     */
    private final LogThrottle attachLog;
    private final LogThrottle exitDroppedLog;
    private final LogThrottle detachLog;

    Attachments(Loop loop, SessionTable table, SessionLookup lookup, SharedParts parts, SessionEnds ends) {
        this.loop = loop;
        this.table = table;
        this.lookup = lookup;
        this.parts = parts;
        this.ends = ends;
        this.attachLog = new LogThrottle(loop, 1_000, log, Level.INFO, "attaches");
        this.exitDroppedLog = new LogThrottle(loop, 1_000, log, Level.INFO, "exits dropped by a relay");
        this.detachLog = new LogThrottle(loop, 1_000, log, Level.INFO, "detaches");
    }

    /**
     * core.session.attach: the connection becomes the session's host on {@code id}. One host at a
     * time: a session with a host attached (its first one or another attacher) is refused, never
     * shared. The answer is attached, the kept output from the offset asked, then live output and the
     * exit (at once, for a session that has exited). {@code answered} runs once the attach is
     * answered, on the loop thread: before this returns, or, when the session's holder has gone and
     * its hang-up waits for a command of its being started (or for its drop), in a later turn, after
     * that hang-up (PROTOCOL-EXTENSIONS: a host that has closed holds nothing). Meanwhile the caller
     * holds the attacher's later frames.
     */
    void onAttach(SessionHost from, long id, SessionAttach attach, Runnable answered) {
        attachOrWait(from, id, attach, answered, loop.nanoTime() + HOLDER_HANG_UP_WAIT_NANOS);
    }

    private void attachOrWait(SessionHost from, long id, SessionAttach attach, Runnable answered, long waitUntil) {
        boolean waits = false;
        try {
            waits = answerOrWait(from, id, attach, loop.nanoTime() < waitUntil);
        } finally {
            if (waits) {
                loop.schedule(HostOutput.PENDING_HANG_UP_RETRY_MILLIS,
                        () -> attachOrWait(from, id, attach, answered, waitUntil));
            } else {
                answered.run(); // whatever the attach threw: held for ever, the host's input would never be read
            }
        }
    }

    /** Answers the attach; true instead when {@code mayWait} and its holder's hang-up is pending. */
    private boolean answerOrWait(SessionHost from, long id, SessionAttach attach, boolean mayWait) {
        String type = MessageType.SESSION_ATTACH.wire();
        HostOutput host = from.output();
        if (id == Protocol.CONTROL_ID) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "id 0 is the control channel, not a session");
            return false;
        }
        if (table.isRouted(new SessionKey(from.connection(), id))) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "id " + id + " is in use by a running session");
            return false;
        }
        String number = Long.toUnsignedString(attach.session());
        Session s = parts.directory().get(attach.session());
        if (s != null && s.route.attached() && s.route.connection() != from.connection()
                && !attaching.contains(s.route.connection())) {
            // Its host may have been killed a moment ago, its hang-up waiting behind this frame in the
            // loop's turn: run now (the host-loss policy with it), this attach sees what it left.
            attaching.add(from.connection());
            try {
                if (s.route.hangUpIfGone()) {
                    s = parts.directory().get(attach.session());
                }
            } finally {
                attaching.remove(from.connection());
            }
        }
        if (mayWait && s != null && s.route.attached() && s.route.connection() != from.connection()
                && s.route.hangUpPending()) {
            return true; // its holder has gone, and its hang-up (which lets the session go) comes in a moment
        }
        if (s == null) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "session " + number + " is unknown or already collected");
            return false;
        }
        if (s.route.attached()) {
            // On the same connection the holder may be this host on another id, or, behind a relay,
            // another client of the relay, which the agent cannot tell apart: it names neither.
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "session " + number + (s.route.connection() == from.connection()
                    ? " is attached already, on another id of this connection (or another client of its relay)"
                    : " is attached to another host"));
            return false;
        }
        OutputRing ring = s.route.ring(); // a detached session always keeps its output
        long from0 = attach.from() == null ? ring.start() : attach.from();
        if (Long.compareUnsigned(from0, ring.end()) > 0) {
            host.refuse(id, ErrorKind.INVALID_PAYLOAD, type, "from " + Long.toUnsignedString(from0)
                    + " is past the end of the output (" + ring.end() + " bytes so far)");
            return false;
        }
        long start = Math.max(from0, ring.start());
        long missed = start - from0;
        host.send(new Frame(id, MessageType.SESSION_ATTACHED,
                new SessionAttached(s.number, s.pid, s.isTty(), start, missed)));
        ring.replay(start, REPLAY_PIECE_BYTES, (stream, offset, data) -> host.send(new Frame(id,
                stream == OutputRing.STDERR ? MessageType.EXEC_STDERR : MessageType.EXEC_STDOUT, new ExecData(data))));
        Frame exit = s.route.heldExit();
        if (attachLog.take()) {
            log.info("session {} (number {}) attached by connection {} on id {}: output from offset {} ({} bytes"
                    + " missed){}", s.id, s.number, from.connection(), id, start, missed,
                    exit != null ? ", its exit delivered" : "");
        }
        s.route.retarget(from, id);
        parts.directory().keyTaken(s.route.key());
        if (exit != null) {
            s.route.send(new Frame(id, exit.type(), exit.payload())); // through the route: a relay may drop it too
            parts.reaper().rehost(SessionKey.hostless(s.number), s.route.key());
            parts.directory().exited(s);
            return false;
        }
        parts.reaper().keyTaken(s.route.key());
        table.routed(s);
        s.rehost(attach.stdinWindow());
        return false;
    }

    /**
     * core.relay.exit.dropped: the relay in front of this connection dropped the exit sent on
     * {@code id}, its client having left. A session whose exit that was, and which would have run on
     * without its host, has the exit held for an attach again, and what it left running is filed
     * with it. No answer either way (a relay notice): an id whose exit is not open to it any more
     * (past the doubt's 60 s, its id taken since, a session killed with its host) is logged.
     */
    void onExitDropped(SessionHost from, long id) {
        SessionKey key = new SessionKey(from.connection(), id);
        Session s = parts.directory().exitDropped(key);
        boolean logged = exitDroppedLog.take();
        if (s != null) {
            parts.reaper().rehost(key, SessionKey.hostless(s.number)); // the key was this session's last: nothing newer took it
            if (logged) {
                log.info("session {} (number {}): the relay dropped its exit (its client had left): held for an"
                        + " attach", id, s.number);
            }
        } else if (logged) {
            log.info("connection {}: the relay dropped an exit on id {} that is not held again (none was"
                    + " delivered there lately, or its session would not have outlived its host)", from.connection(),
                    id);
        }
    }

    /**
     * core.session.detach: the host leaves the session on {@code id} running without a host, as if
     * it had left the agent, and stays connected. The answer, detached, is the id's last frame: it
     * says where the output this host was sent ends, so an attach from that offset misses nothing.
     * A session that kept no output keeps it from here on, as under the policy keep.
     */
    void onDetach(SessionHost from, long id) {
        Session s = lookup.live(from, id, MessageType.SESSION_DETACH);
        if (s == null) {
            return;
        }
        long offset = s.route.offset(); // everything before it is in this host's queue already
        ends.detach(List.of(s));
        from.output().send(new Frame(id, MessageType.SESSION_DETACHED, new SessionDetached(s.number, offset)));
        if (detachLog.take()) {
            log.info("session {} (number {}) detached by connection {} at output offset {}: it runs on, its output"
                    + " and exit kept for an attach", id, s.number, from.connection(), offset);
        }
    }
}
