package io.agentd.client.cli;

import io.agentd.client.AgentClient;

/**
 * How a command opens its connection to the agent: every command that needs one is given this
 * rather than the address, so that its local checks (arguments, the terminal) come first and a
 * mistake there never costs a connect.
 */
interface Connector {
    AgentClient connect() throws Agentctl.Unavailable;
}
