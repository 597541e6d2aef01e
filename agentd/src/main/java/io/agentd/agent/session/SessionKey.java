package io.agentd.agent.session;

/**
 * How a host names a session: the connection it came on and the frame id it uses there. Each
 * connection has its own id space, so the id alone names nothing.
 */
public record SessionKey(long connection, long id) {
    @Override
    public String toString() {
        return connection + "/" + id;
    }
}
