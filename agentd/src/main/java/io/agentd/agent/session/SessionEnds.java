package io.agentd.agent.session;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where sessions leave their host or the agent: a session that exited ({@link #finished}), the
 * sessions of a lost host, killed ({@link #killOwned}) or kept running without it
 * ({@link #detachOwned}), or, on a port, for its return ({@link #keptForTheHostsReturn}), and one its
 * host detached ({@link #detach}). What each leaves behind goes
 * to the reaper, its cgroup is released, and the agent hears when the last one has gone. Loop
 * thread only.
 */
final class SessionEnds {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class); // Sessions' lines, as before

    private final SessionTable table;
    private final SessionLookup lookup;
    private final SharedParts parts;
    /** Runs whenever the last session has sent its terminal frame (or been killed with its host). */
    private final Runnable onIdle;

    SessionEnds(SessionTable table, SessionLookup lookup, SharedParts parts, Runnable onIdle) {
        this.table = table;
        this.lookup = lookup;
        this.parts = parts;
        this.onIdle = onIdle;
    }

    /**
     * The session sent its terminal frame (its exit): out of the table, what it leaves behind filed
     * with the reaper, its cgroup released, and the directory told (which holds the exit for an attach
     * when no host was there to take it).
     */
    void finished(Session s) {
        table.remove(s);
        // What it leaves behind goes with its exit: to the attached host, or, with none, under
        // no connection's key until an attach takes the exit (onAttach). Filed under the key of
        // the host that had left, it outlived every later host for ever (or died with the
        // connection that detached it at its start, which no longer names it).
        parts.reaper().finished(s.route.attached() ? s.route.key() : SessionKey.hostless(s.number), s);
        if (s.route.attached()) {
            lookup.ended(s.route.key());
        }
        parts.cgroups().release(s.cgroup);
        parts.directory().exited(s);
        logStdinBudget();
        if (table.isEmpty()) {
            onIdle.run();
        }
    }

    /**
     * The host of {@code connection} (or the relay client that owned {@code ids} there) is gone and
     * the policy kills its sessions: SIGKILL to each one's group and cgroup, and to the groups and
     * cgroups of its ended sessions that linger on; nothing is sent. Other connections' sessions,
     * and this connection's outside {@code ids}, are left alone; so are its detachable sessions (and
     * sessions kept before), which are detached instead.
     */
    void killOwned(long connection, LongPredicate ids) {
        List<Session> owned = new ArrayList<>();
        List<Session> kept = new ArrayList<>();
        for (Session s : table.owned(connection, ids)) {
            // Detachable (or kept once already, with output kept): it outlives its host whatever the policy.
            (s.detachable || s.route.ring() != null ? kept : owned).add(s);
        }
        detach(kept);
        // One line for them all, not one a session: a host with a thousand sessions that closed made
        // a thousand lines at once, minutes of a serial console.
        if (!owned.isEmpty()) {
            log.info("host gone: {} session(s) of connection {} killed, no exit lines follow: ids {}; {} detachable"
                    + " one(s) kept running", owned.size(), connection, IdRanges.of(owned), kept.size());
        } else if (!kept.isEmpty()) {
            log.info("host gone: no session of connection {} killed, {} detachable one(s) kept running: ids {}",
                    connection, kept.size(), IdRanges.of(kept));
        }
        for (Session s : owned) {
            s.abandon();
            table.remove(s);
            parts.reaper().abandoned(s); // its leader is reaped by the sweep as an orphan
            parts.cgroups().release(s.cgroup);
            parts.directory().abandoned(s);
        }
        parts.reaper().killLingering(k -> k.connection() == connection && ids.test(k.id()));
        logStdinBudget();
        if (!owned.isEmpty() && table.isEmpty()) {
            onIdle.run();
        }
    }

    /**
     * The host of {@code connection} (or the relay client that owned {@code ids} there) is gone and
     * the policy keeps its sessions: they run on, detached (no host; their output kept in a ring
     * from here on, for an attach), and their ids are free for the connection's next owner.
     */
    void detachOwned(long connection, LongPredicate ids) {
        List<Session> owned = table.owned(connection, ids);
        detach(owned);
        if (!owned.isEmpty()) {
            log.info("host gone: {} session(s) of connection {} kept running without a host, their output kept"
                    + " for an attach: ids {}", owned.size(), connection, IdRanges.of(owned));
        }
    }

    /**
     * A port's host is gone and the policy keeps its sessions for its return: they stay routed to the
     * port, their frames queued for whoever comes back, and each keeps its output in its ring from
     * here on as well. What they queue now may never be read: a relay that takes the place of one
     * that died drops it at its start barrier, then ends the old ranges (core.relay.client.disconnected,
     * {@link #detachOwned}); the ring then holds it for its client's attach from the offset that client
     * had received, where it would otherwise be reported missed though nobody received it. A host that
     * returns and reads the queue itself leaves the ring as a kept session's (within
     * --session-buffer and the total, released with the session).
     */
    void keptForTheHostsReturn(long connection) {
        for (Session s : table.owned(connection, id -> true)) {
            s.route.keepFromHere();
        }
    }

    /**
     * Each runs on with no host: output into its ring (read again if it was paused), exit held, and
     * the stdin credit its host did not use back in the budget.
     */
    void detach(List<Session> sessions) {
        for (Session s : sessions) {
            table.detach(s);
        }
        if (!sessions.isEmpty()) {
            logStdinBudget();
        }
    }

    /** After a session ends: what it held of the stdin budget is back (the tests read this line). */
    private void logStdinBudget() {
        if (log.isDebugEnabled()) {
            log.debug("stdin budget: {} of {} bytes queued or granted over {} session(s)", parts.stdinBudget().used(),
                    parts.stdinBudget().limit(), table.size());
        }
    }
}
