package io.agentd.agent.transport;

/**
 * The agent's side of the transports: a served connection per host. Socket connections count
 * against a limit ({@code --max-connections}); a port is the agent's own and is always served.
 * Loop thread only.
 */
public interface HostConnections {
    /**
     * A new connection for a host that connected to a socket, with that transport's policy; null
     * when {@link #maxConnections()} socket connections are open (the transport refuses it).
     *
     * @param peer who it is, for logs
     */
    HostEndpoint accept(String peer, HostLossPolicy policy);

    /** The connection of a port, for the agent's whole life. */
    HostEndpoint openPort(String device, HostLossPolicy policy);

    /** How many socket connections may be open at once. */
    int maxConnections();
}
