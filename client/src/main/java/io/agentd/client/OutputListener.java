package io.agentd.client;

import io.agentd.protocol.payload.ExecStdinError;

/**
 * Receives a session's output as it arrives. Called on the connection's reader thread, in the order
 * the agent sent the frames, and always before the session's exit completes. It must not block for
 * long: while it runs, no frame of any session on that connection is read. So it must not wait for
 * anything of its own connection either: a call that would wait there for a reply, an exit, stdin
 * credit or output (ping, run, awaitStarted, awaitExit, nextOutput, a stdin write past the agent's
 * credit, a read of any session's stdout() or stderr() that finds nothing to read yet, any file
 * operation of {@code files()} or read of its streams) throws IllegalStateException instead of
 * waiting for what only this thread could deliver. Sending (signal, stdin within the credit,
 * starting a session) is allowed, as is waiting on another connection, but a send waits while
 * another thread's write on this connection is in progress: one that itself waits for the agent or a
 * relay to read (a large stdin write to an agent without stdin credit, or behind a relay that stops
 * taking a client's input until that client reads its output) may wait for this very thread, so
 * hand such sends to a thread of your own. {@link ExecSession#pauseOutput} never waits.
 * A RuntimeException it throws is logged and the session goes on; an Error (an AssertionError of a
 * test) ends the connection, and every open session and call fails with ConnectionLostException
 * caused by it.
 */
@FunctionalInterface
public interface OutputListener {

    void onOutput(Output output);

    /**
     * Whether this listener may hold on to an {@link Output}'s data array after {@link #onOutput}
     * returns. A listener that answers false (it counts, copies or writes the bytes during the call)
     * lets the client read a later frame of the same size into the same array: bulk output then
     * costs no allocation and no zeroing per frame. One that throws is taken for true (the data is
     * kept), and logged once.
     */
    default boolean keepsData() {
        return true;
    }

    /** The agent could not write stdin to the process (e.g. EPIPE after it closed its stdin). */
    default void onStdinError(ExecStdinError error) {}

    /** The agent refused one of our frames of this running session (see {@link ExecSession#errors}). */
    default void onAgentError(AgentErrorException error) {}
}
