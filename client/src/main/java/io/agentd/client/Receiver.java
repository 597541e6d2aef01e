package io.agentd.client;

import io.agentd.protocol.Frame;

/** What a live id (a session or a pending call) does with the frames the agent sends on it. */
interface Receiver {

    /**
     * A frame on this id, on the reader thread; returns true when it ended the id (it is then no
     * longer live). Not every terminal frame does: a core.error on a running session answers one of
     * the host's frames (a bad resize, signal, stdin) and the session goes on.
     */
    boolean onFrame(Frame frame);

    /**
     * True when a data frame's array is no longer referenced once {@link #onFrame} returned, so the
     * reader may read a later frame into it.
     */
    default boolean releasesData() {
        return false;
    }

    /** The id ended without a terminal frame (connection lost, or an undecodable frame on it). */
    void onAbort(AgentException cause);
}
