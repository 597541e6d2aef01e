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
}
