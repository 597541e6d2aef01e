package io.agentd.agent.session;

import java.util.List;

/**
 * What every session gets unless its request says otherwise, and the session timings.
 *
 * @param user        default user ("name", "uid", "name:group", "uid:gid"), or null for the agent's own
 * @param cwd         default working directory, or null for the agent's own
 * @param env         default environment entries ("K=V"), under the request's own
 * @param restricted  the restricted security profile for every session
 * @param drainMillis how long output fds still held by descendants are read after the leader exits
 * @param graceMillis time between SIGTERM and SIGKILL (timeouts and shutdown)
 * @param stdinLimit  most stdin bytes queued for one session; more is refused with stdin.error
 * @param stdinTotalLimit most stdin bytes queued for all sessions together (the per-session bound
 *                    alone does not bound memory when many sessions have children that do not read)
 */
public record SessionDefaults(
        String user,
        String cwd,
        List<String> env,
        boolean restricted,
        long drainMillis,
        long graceMillis,
        long stdinLimit,
        long stdinTotalLimit) {

    public SessionDefaults {
        env = List.copyOf(env);
    }
}
