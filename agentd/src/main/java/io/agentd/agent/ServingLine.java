package io.agentd.agent;

import io.agentd.agent.session.SessionDefaults;
import io.agentd.agent.transport.HostLossPolicy;
import java.util.List;

/**
 * The line an operator reads once the agent serves: what it serves, what happens to sessions when
 * each transport's host goes (the policy differs between a port and a socket), and the settings
 * that decide what a host may do (limits, timeouts), so that a log shows what an agent ran with.
 */
final class ServingLine {
    /** One transport: its description ({@code Transport.describe}), its host-loss policy, whether it is a socket. */
    record Served(String what, HostLossPolicy hostLoss, boolean socket) {}

    private ServingLine() {}

    /**
     * @param oomScoreAdj    the agent's oom_score_adj and its sessions' ({@code OomScoreAdj.describe})
     * @param sessionsMemory the memory limit over all sessions ({@code CgroupRoot.memoryLimit})
     */
    static String of(String version, List<Served> transports, AgentOptions options, String oomScoreAdj,
            String sessionsMemory) {
        StringBuilder line = new StringBuilder("agentd ").append(version).append(" serving ");
        boolean sockets = false;
        for (int i = 0; i < transports.size(); i++) {
            Served t = transports.get(i);
            sockets |= t.socket();
            line.append(i == 0 ? "" : " and ").append(t.what()).append(" (host loss: ").append(t.hostLoss().option())
                    .append(')');
        }
        SessionDefaults s = options.sessionDefaults();
        line.append("; profile ").append(s.profile().wireName())
                .append(", drain ").append(s.drainMillis()).append(" ms")
                .append(", grace ").append(s.graceMillis()).append(" ms")
                .append(", high-water ").append(options.highWater()).append(" bytes")
                .append(", stdin ").append(s.stdinLimit()).append(" bytes a session")
                .append(", session buffer ").append(options.retention().sessionBuffer()).append(" bytes");
        if (sockets) {
            long timeout = options.frameTimeoutMillis();
            line.append(", frame timeout ").append(timeout == 0 ? "off" : timeout / 1000 + " s")
                    .append(", at most ").append(options.maxConnections()).append(" socket connections");
        }
        return line.append(", ").append(oomScoreAdj).append(", ").append(sessionsMemory).toString();
    }
}
