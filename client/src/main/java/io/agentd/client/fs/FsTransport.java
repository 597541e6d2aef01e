package io.agentd.client.fs;

import io.agentd.protocol.payload.FsRequest;
import java.io.IOException;

/**
 * What {@link GuestFiles} needs of a connection: start a core.fs.request on a fresh id, send the
 * data of a Write on it, and say whether the agent takes the fs extensions. The client's
 * {@code AgentClient} provides it ({@code AgentClient.files()}); tests may play it. Not an
 * application API: use {@link GuestFiles}.
 */
public interface FsTransport {

    /** True when the agent's core.ready lists {@code fs_ext} (user, extended, window, atomic). */
    boolean extensions();

    /**
     * Sends {@code request} on a fresh id and returns the id; {@code listener} gets every frame of
     * that id on the connection's reader thread until the one that ends it.
     *
     * <p>Each send here gives up at {@code deadline} (a {@link System#nanoTime}) when the agent reads
     * nothing: {@link io.agentd.client.AgentTimeoutException} when nothing of it was sent (the id is
     * then free again), {@link io.agentd.client.ConnectionLostException} when a frame was cut.
     */
    long start(FsRequest request, FsListener listener, long deadline) throws IOException;

    /** Sends {@code data[off, off+len)} as core.fs.data on {@code id} (cut into frames as needed) by {@code deadline}. */
    void sendData(long id, byte[] data, int off, int len, long deadline) throws IOException;

    /** Sends the empty core.fs.data that ends a Write's data, by {@code deadline}. */
    void endData(long id, long deadline) throws IOException;

    /**
     * Nobody waits for the request on {@code id} any longer (its caller timed out or gave up): the
     * id is freed now, while it is still {@code listener}'s, and whatever the agent sends on it later
     * is dropped. An agent that never answers then holds no id of this connection.
     */
    void retire(long id, FsListener listener);

    /**
     * Throws IllegalStateException when the calling thread could not wait for the agent's answer:
     * the connection's own reader (an OutputListener), which alone would deliver it. Called before
     * every request, all of which are waited for, before a stream's read waits for data, and before
     * an output stream's write, close or abort, any of which may wait.
     */
    default void refuseWaitHere(String what) {}
}
