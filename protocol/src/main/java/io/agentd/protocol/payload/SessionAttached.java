package io.agentd.protocol.payload;

/**
 * core.session.attached: the attach succeeded; retained output from {@code from} follows on the id.
 *
 * @param session the agent-wide session number
 * @param pid     the session leader's pid (u32)
 * @param tty     whether it runs on a PTY
 * @param from    the offset of the first output byte that follows
 * @param missed  bytes the attach asked for that were no longer kept (0 normally)
 */
public record SessionAttached(long session, long pid, boolean tty, long from, long missed) implements Payload {}
