package io.agentd.agent.session;

import io.agentd.agent.transport.HostOutput;
import java.util.function.LongPredicate;

/**
 * A host connection as sessions see it: its number, unique for the agent's life (so a session's
 * (connection, id) never names a session of another connection, nor of one that has gone), the
 * link its frames go to, and the ids whose output a relay in front of it asked to hold.
 *
 * @param connection the connection's number (from 1)
 * @param output     the connection's link
 * @param heldIds    ids whose output is held (core.relay.client.paused): their sessions do not read it
 * @param keepsSessions its sessions run on when it leaves (--on-host-loss keep), rather than being killed
 */
public record SessionHost(long connection, HostOutput output, LongPredicate heldIds, boolean keepsSessions) {
    private static final LongPredicate NONE_HELD = id -> false;

    /** A host none of whose ids are ever held (no relay's flow control), whose sessions die with it. */
    public SessionHost(long connection, HostOutput output) {
        this(connection, output, NONE_HELD, false);
    }
}
