package io.agentd.protocol.payload;

/**
 * core.session.detached: the session on the id runs on without a host; nothing more comes on the id.
 *
 * @param session the agent-wide session number (what an attach names)
 * @param offset  the output offset of the next byte: every byte before it was sent on the id before
 *                this frame, so an attach from here misses nothing
 */
public record SessionDetached(long session, long offset) implements Payload {}
