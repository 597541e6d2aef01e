package io.agentd.client;

import io.agentd.protocol.Frame;

/** What a live id (a session or a pending call) does with the frames the agent sends on it. */
interface Receiver {

    /** A frame on this id, on the reader thread. After a terminal frame the id is no longer live. */
    void onFrame(Frame frame);

    /** The id ended without a terminal frame (connection lost, or an undecodable frame on it). */
    void onAbort(AgentException cause);
}
