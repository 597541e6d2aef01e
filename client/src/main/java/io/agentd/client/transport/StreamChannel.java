package io.agentd.client.transport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.GatheringByteChannel;

/**
 * A connected byte stream to an agent or a relay, in blocking mode: what {@link AgentAddress#open}
 * gives and {@link io.agentd.client.AgentClient} reads and writes. Closing it from another thread
 * ends a read in progress.
 */
public interface StreamChannel extends ByteChannel, GatheringByteChannel {

    /**
     * Writes what the peer takes of {@code srcs} now, waiting for room until {@code deadline} (a
     * {@link System#nanoTime}; {@link Long#MAX_VALUE} waits as long as it takes, as
     * {@link #write(ByteBuffer[])} does). Returns the bytes written: 0 only when the deadline passed
     * and the peer took nothing, which is how a caller with a time limit learns that the peer stopped
     * reading.
     */
    long writeBefore(ByteBuffer[] srcs, long deadline) throws IOException;
}
