package io.agentd.agent.session;

import io.agentd.agent.transport.HostOutput;

/**
 * A host connection as sessions see it: its number, unique for the agent's life (so a session's
 * (connection, id) never names a session of another connection, nor of one that has gone), and the
 * link its frames go to.
 *
 * @param connection the connection's number (from 1)
 * @param output     the connection's link
 */
public record SessionHost(long connection, HostOutput output) {}
