package io.agentd.agent.session;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.MessageType;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The session a host's frame names, or the frame's refusal when there is none: at debug when that
 * id's session ended lately on the connection (the frame crossed the session's end on the wire),
 * else as the host's mistake (a warning). For that it remembers the keys whose session ended lately.
 * Loop thread only.
 */
final class SessionLookup {
    static final int RECENTLY_ENDED_MAX = 1024;

    private final SessionTable table;
    /**
     * The keys whose session ended lately (its exit sent on them, or the request answered failed),
     * the oldest dropped past {@link #RECENTLY_ENDED_MAX} and a connection's when it closes: stdin,
     * resize and signals on such an id crossed the session's end on the wire (a host sends stdin
     * until it reads the exit), so their refusal is a debug line, while those on an id that never
     * was a session stay a warning. Only the log level depends on it: the host's answer is the same.
     */
    private final Map<SessionKey, Boolean> recentlyEnded = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<SessionKey, Boolean> eldest) {
            return size() > RECENTLY_ENDED_MAX;
        }
    };

    SessionLookup(SessionTable table) {
        this.table = table;
    }

    /** The session routed to {@code id} of {@code from}'s connection, or null with the frame refused. */
    Session live(SessionHost from, long id, MessageType type) {
        SessionKey key = new SessionKey(from.connection(), id);
        Session s = table.get(key);
        if (s == null) {
            refuseNoSession(from, key, type.wire(), "no session " + id);
        }
        return s;
    }

    /**
     * Answers a frame for a session that is not there: at debug when its session ended lately on this
     * connection (stdin, resize or a signal that crossed the exit on the wire, as a host piping into a
     * command that ended, `yes | agentctl exec -i -- head -c 1`, sends every time), else as a host's
     * mistake (a warning). The answer is the same.
     */
    void refuseNoSession(SessionHost from, SessionKey key, String type, String message) {
        if (recentlyEnded.containsKey(key)) {
            from.output().refuseRace(key.id(), ErrorKind.INVALID_SESSION, type, message);
        } else {
            from.output().refuse(key.id(), ErrorKind.INVALID_SESSION, type, message);
        }
    }

    /** The session on {@code key} ended (or its request left none there): see {@link #recentlyEnded}. */
    void ended(SessionKey key) {
        recentlyEnded.remove(key); // moved to the newest end
        recentlyEnded.put(key, Boolean.TRUE);
    }

    /**
     * Nothing more can come on the connection's ids: their ends need no remembering (and a soak of
     * short connections would keep the last 1024 of them for nothing).
     */
    void connectionClosed(long connection) {
        recentlyEnded.keySet().removeIf(key -> key.connection() == connection);
    }
}
