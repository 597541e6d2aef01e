package io.agentd.client;

import io.agentd.protocol.payload.ExecStdinError;

/**
 * Receives a session's output as it arrives. Called on the connection's reader thread, in the order
 * the agent sent the frames, and always before the session's exit completes. It must not block for
 * long: while it runs, no frame of any session on that connection is read.
 */
@FunctionalInterface
public interface OutputListener {

    void onOutput(Output output);

    /**
     * Whether this listener may hold on to an {@link Output}'s data array after {@link #onOutput}
     * returns. A listener that answers false (it counts, copies or writes the bytes during the call)
     * lets the client read a later frame of the same size into the same array: bulk output then
     * costs no allocation and no zeroing per frame.
     */
    default boolean keepsData() {
        return true;
    }

    /** The agent could not write stdin to the process (e.g. EPIPE after it closed its stdin). */
    default void onStdinError(ExecStdinError error) {}

    /** The agent refused one of our frames of this running session (see {@link ExecSession#errors}). */
    default void onAgentError(AgentErrorException error) {}
}
