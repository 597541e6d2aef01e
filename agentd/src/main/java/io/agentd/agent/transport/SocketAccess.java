package io.agentd.agent.transport;

import java.util.List;

/**
 * Who may use the agent's unix socket: the socket file's mode and group (who may connect at all),
 * and the uids whose connections are served (checked on every connection with SO_PEERCRED, so a
 * socket file opened up by mistake, or a descriptor passed on, still serves nobody else).
 *
 * @param mode      the socket file's mode, set whatever the umask
 * @param group     the socket file's group (name or gid), or null to leave the agent's; its members
 *                  are served too (their primary or supplementary group, as of their connect)
 * @param allowUids uids served besides root and the agent's own
 */
public record SocketAccess(int mode, String group, List<Integer> allowUids) {
    /** Owner only: any process that could connect could run commands as the agent's user. */
    public static final int DEFAULT_MODE = 0600;

    public SocketAccess {
        allowUids = List.copyOf(allowUids);
    }

    /** The default: mode 0600, the agent's group, root and the agent's own uid only. */
    public static SocketAccess privateSocket() {
        return new SocketAccess(DEFAULT_MODE, null, List.of());
    }
}
