package io.agentd.client.transport;

import java.nio.channels.ByteChannel;
import java.nio.channels.GatheringByteChannel;

/**
 * A connected byte stream to an agent or a relay, in blocking mode: what {@link AgentAddress#open}
 * gives and {@link io.agentd.client.AgentClient} reads and writes. Closing it from another thread
 * ends a read in progress.
 */
public interface StreamChannel extends ByteChannel, GatheringByteChannel {}
