package io.agentd.agent.transport;

/**
 * One host connection as its transport sees it: the link to attach the fd to, and whom to tell when
 * the host goes. The agent makes one per accepted socket connection, and one for a port's life.
 * Loop thread only.
 */
public interface HostEndpoint {
    /** The connection's own link (its queue, its backpressure). */
    PortLink link();

    /**
     * The host went away. {@code over}: the connection is done (a socket: a new connection is a new
     * host); false: the same host may come back to the same link (a port).
     */
    void hostLost(boolean over);
}
