package io.agentd.agent.session;

/**
 * How a host names a session: the connection it came on and the frame id it uses there. Each
 * connection has its own id space, so the id alone names nothing.
 */
public record SessionKey(long connection, long id) {
    /** No connection has this number (Agent counts them from 1): the connection of {@link #hostless} keys. */
    static final long NO_CONNECTION = -1;

    /**
     * The key of session number {@code number} while no host names it: a session that ended detached
     * files its lingering group under it, out of every connection's reach, until an attach takes its
     * exit (and with it the group) under the attacher's own key.
     */
    static SessionKey hostless(long number) {
        return new SessionKey(NO_CONNECTION, number);
    }

    // equals and hashCode by hand: a record's own go through method handles (ObjectMethods), which
    // C1, the agent's only compiler, does not inline, and every stdin and signal frame looks its
    // session up by key.
    @Override
    public boolean equals(Object other) {
        return other instanceof SessionKey key && key.connection == connection && key.id == id;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(connection) * 31 + Long.hashCode(id);
    }

    @Override
    public String toString() {
        return connection + "/" + id;
    }
}
