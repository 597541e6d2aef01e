package io.agentd.agent.transport;

import java.io.IOException;

/** Where the host's bytes come from: opens the fd(s) and hands a connected fd to the {@link PortLink}. */
public interface Transport {
    /** Opens the port or socket and starts serving; a failure here is fatal for the agent. */
    void start() throws IOException;

    /** Releases what {@link #start} created (the socket file, the port fd). */
    void close();

    /** For logs: what is served. */
    String describe();

    /** What becomes of a host's sessions when its connection is lost (for the serving line). */
    HostLossPolicy hostLossPolicy();

    /** True when many hosts may connect at once (a socket), false for the one host of a port. */
    boolean servesManyHosts();
}
