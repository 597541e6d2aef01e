package io.agentd.agent;

import io.agentd.agent.transport.HeldIds;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.RelayClientRange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the relay in front of a connection says of its clients, each for the client's id range, on
 * id 0, with no reply: one is gone (what it owned ends, {@link Connection#ownerGone}), one does not
 * read (its output is held, {@link HeldIds}), one reads again (released). Their debug lines are
 * throttled at one rate for every connection: a relay may send these in a loop. Static, on the
 * connection it is given. Loop thread only.
 */
final class RelayNotices {
    private static final Logger log = LoggerFactory.getLogger(Connection.class); // the connections' lines

    private RelayNotices() {
    }

    /**
     * The relay in front of {@code c} says the client that owned {@code [id_start,
     * id_end_exclusive)} left: what it owned ends as if its host had gone (the connection's policy),
     * and nothing else is touched. No reply (like core.shutdown, it is a notice).
     */
    static void clientGone(Connection c, long id, RelayClientRange notice) {
        if (!valid(c, id, MessageType.CORE_RELAY_CLIENT_DISCONNECTED, notice)) {
            return;
        }
        OwnedIds ids = OwnedIds.range(notice.idStart(), notice.idEndExclusive());
        if (c.fs != null) {
            // A departure names a client's whole range (agentctl's relay names all 128 at its start):
            // from now on its fs handles are that client's alone.
            c.fs.onIdRangeNamed(notice.idStart(), notice.idEndExclusive());
        }
        // Debug only, and throttled: a relay may send these in a loop; what they end is logged session by session.
        if (c.agent.relayNoticeLog.takeIfLogged()) {
            log.debug("connection {}: relay client of {} gone ({} policy)", c.number(), ids, c.policy().option());
        }
        boolean wasHolding = c.held.releaseOverlapping(notice); // the next client's ids start free
        c.ownerGone(ids, false);
        if (wasHolding) {
            c.onOutputResumed(); // a hold reaching past the range ended too: its other sessions read on
        }
    }

    /**
     * The relay's client of {@code [id_start, id_end_exclusive)} does not read (relay flow control):
     * its sessions stop reading output and its fs Reads wait, so the relay can keep reading the
     * port for its other clients. No reply.
     */
    static void clientPaused(Connection c, long id, RelayClientRange notice) {
        if (!valid(c, id, MessageType.CORE_RELAY_CLIENT_PAUSED, notice)) {
            return;
        }
        if (!c.held.hold(notice)) {
            String type = MessageType.CORE_RELAY_CLIENT_PAUSED.wire();
            c.link().refuse(id, ErrorKind.LIMIT_EXCEEDED, type, "output is already held for " + HeldIds.MAX_RANGES
                    + " id ranges, the most one connection may hold; " + type + " not applied");
            return;
        }
        // Debug only and throttled, like the departure notice: a relay may send these often.
        if (c.agent.relayNoticeLog.takeIfLogged()) {
            log.debug("connection {}: output of ids [{}, {}) held for the relay", c.number(), notice.idStart(),
                    notice.idEndExclusive());
        }
    }

    /** That client reads again: what was held for it flows (a range not held is no error: notices may cross). */
    static void clientResumed(Connection c, long id, RelayClientRange notice) {
        if (!valid(c, id, MessageType.CORE_RELAY_CLIENT_RESUMED, notice)) {
            return;
        }
        if (c.held.release(notice)) {
            if (c.agent.relayNoticeLog.takeIfLogged()) {
                log.debug("connection {}: output of ids [{}, {}) released", c.number(), notice.idStart(),
                        notice.idEndExclusive());
            }
            c.onOutputResumed();
        }
    }

    /** A relay notice travels on id 0 and names at least one id; anything else is refused on its id. */
    private static boolean valid(Connection c, long id, MessageType type, RelayClientRange notice) {
        if (id != Protocol.CONTROL_ID) {
            c.link().refuse(id, ErrorKind.INVALID_SESSION, type.wire(),
                    type.wire() + " travels on id 0, not on a session's id");
            return false;
        }
        if (notice.idStart() >= notice.idEndExclusive()) {
            c.link().refuse(id, ErrorKind.INVALID_PAYLOAD, type.wire(),
                    RelayClientRange.namesNoIds(notice.idStart(), notice.idEndExclusive()));
            return false;
        }
        return true;
    }
}
