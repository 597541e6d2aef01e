package io.agentd.agent.session;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongPredicate;

/**
 * Where every session of the agent is: in the table from its start until it sends its terminal frame
 * (or is abandoned), addressable by its host's key while routed, and paused while its host reads
 * nothing. Moving a session between these (routed, detached, paused, resumed, gone) is all it does:
 * what the move means for the reaper, the cgroups and the host is the caller's. Loop thread only.
 *
 * <p>Ownership: a session belongs to the connection and id its {@link SessionRoute} names. While
 * routed it is by that key; {@link #detach} takes it out (its host left and the policy keeps it
 * running: it runs on in the table, its output kept for an attach, until it ends); re-attaching is
 * {@link SessionRoute#retarget} and {@link #routed}. Backpressure is per connection: a host that does
 * not read pauses only its own sessions, and its drain resumes only those ({@link #resumeFor}).
 */
final class SessionTable {
    /** Every session that has not sent its terminal frame (nor been abandoned), routed or detached. */
    private final Set<Session> all = new LinkedHashSet<>();
    private final Set<Session> allView = Collections.unmodifiableSet(all);
    /** The routed ones, by the connection and id their host names them with. */
    private final Map<SessionKey, Session> byKey = new HashMap<>();
    /** Sessions that stopped reading output at their connection's high-water mark; resumed per connection. */
    private final List<Session> pausedForBackpressure = new ArrayList<>();

    /** A session just started, routed to {@code key}. */
    void add(SessionKey key, Session s) {
        all.add(s);
        byKey.put(key, s);
    }

    /** The session routed to {@code key}, or null. */
    Session get(SessionKey key) {
        return byKey.get(key);
    }

    /** True while a session is routed to {@code key}. */
    boolean isRouted(SessionKey key) {
        return byKey.containsKey(key);
    }

    boolean isEmpty() {
        return all.isEmpty();
    }

    int size() {
        return all.size();
    }

    /** Every session, routed or detached, in the order they started (a view: the table's moves change it). */
    Set<Session> all() {
        return allView;
    }

    /** How many sessions are routed to connection {@code connection}. */
    int count(long connection) {
        return (int) byKey.keySet().stream().filter(k -> k.connection() == connection).count();
    }

    /** The sessions routed to {@code connection} under one of {@code ids}. */
    List<Session> owned(long connection, LongPredicate ids) {
        List<Session> owned = new ArrayList<>();
        for (Map.Entry<SessionKey, Session> e : byKey.entrySet()) {
            if (e.getKey().connection() == connection && ids.test(e.getKey().id())) {
                owned.add(e.getValue());
            }
        }
        return owned;
    }

    /**
     * A session (re-)routed to a host ({@link SessionRoute#retarget}) is addressable there, and reads
     * output again if it had stopped for want of a host. Refused (false) when that connection already
     * has a session under the id.
     */
    boolean routed(Session s) {
        SessionKey key = s.route.key();
        if (byKey.putIfAbsent(key, s) != null && byKey.get(key) != s) {
            return false;
        }
        resumeIfPaused(s);
        return true;
    }

    /**
     * The session runs on with no host: output into its ring (read again if it was paused), exit
     * held, and the stdin credit its host did not use back in the budget.
     */
    void detach(Session s) {
        byKey.remove(s.route.key(), s);
        s.route.detach();
        s.hostLeft();
        resumeIfPaused(s);
    }

    /** The session is over for the table: it sent its terminal frame, or was abandoned. */
    void remove(Session s) {
        all.remove(s);
        byKey.remove(s.route.key(), s);
        pausedForBackpressure.remove(s);
    }

    // ---- backpressure ----

    /** The session stopped reading its output: its host is past the high-water mark, or it has none. */
    void paused(Session s) {
        pausedForBackpressure.add(s);
    }

    /**
     * {@code host}'s link drained below half its high-water mark, or its relay released held ids:
     * the sessions it paused read again (those of other connections wait for their own link,
     * detached ones for a host, and those whose ids the relay still holds for its release).
     */
    void resumeFor(SessionHost host) {
        List<Session> resume = new ArrayList<>();
        pausedForBackpressure.removeIf(s -> {
            boolean ours = s.route.attached() && s.route.connection() == host.connection()
                    && s.route.acceptsOutput();
            if (ours) {
                resume.add(s);
            }
            return ours;
        });
        for (Session s : resume) {
            s.resumeOutput();
        }
    }

    private void resumeIfPaused(Session s) {
        if (pausedForBackpressure.remove(s)) {
            s.resumeOutput();
        }
    }
}
