package io.agentd.protocol.payload;

/**
 * core.session.attach: become the host of a session, on a fresh id chosen by the attacher.
 *
 * @param session     the agent-wide session number
 * @param from        the output offset to replay from; null = the oldest byte still kept
 * @param stdinWindow the attacher asks for stdin flow control on its id (as exec.request's field)
 */
public record SessionAttach(long session, Long from, boolean stdinWindow) implements Payload {}
