package io.agentd.bench;

import io.agentd.protocol.payload.ExecRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * An agent the bench cannot see from outside (a guest's, reached through its relay): each reading is
 * a shell the agent runs, and the shell's parent ({@code $PPID}) is the agent. Reading costs one
 * session, which {@link #liveChildren} does not count, nor the bench's own sessions. The limit is the guest's init's to set
 * (65536); nothing here raises it.
 */
final class GuestAgentProbe implements AgentProbe {
    private final AgentLink agent;
    private final int benchSessions;

    /** {@code benchSessions}: sessions of the bench's own running beside the load (a pinger), not counted. */
    GuestAgentProbe(AgentLink agent, int benchSessions) {
        this.agent = agent;
        this.benchSessions = benchSessions;
    }

    @Override
    public String raiseOpenFileLimit(long wanted) throws Exception {
        return openFileLimit() >= wanted ? "already " + wanted + " or more" : "set by the guest's init, below " + wanted;
    }

    @Override
    public long openFileLimit() throws Exception {
        return AgentProbe.openFileLimit(lines("cat /proc/$PPID/limits"), "the guest agent's /proc/PID/limits");
    }

    @Override
    public int liveChildren() throws Exception {
        // The reading shell is one of them (cat is its child, not the agent's), and so are the bench's own.
        // A thread that ended after the glob leaves cat a file it cannot open: skipped, as the local probe does.
        return AgentProbe.childCount(shell("cat /proc/$PPID/task/*/children 2>/dev/null; exit 0")) - 1 - benchSessions;
    }

    @Override
    public long peakRssBytes() throws Exception {
        return ProcStatus.parse(lines("cat /proc/$PPID/status"), "the guest agent's /proc/PID/status").peakRssBytes();
    }

    private List<String> lines(String command) throws Exception {
        return shell(command).lines().toList();
    }

    /** Runs {@code sh -c command} through the agent; its stdout, or an error naming its exit and stderr. */
    private String shell(String command) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        AgentLink.Session s = agent.exec(ExecRequest.of("sh", "-c", command), sink(out), sink(err));
        int code = s.awaitExit();
        if (code != 0) {
            throw new IOException("`" + command + "` in the guest exited " + code + ": "
                    + err.toString(StandardCharsets.UTF_8).strip());
        }
        synchronized (out) {
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    private static AgentLink.Sink sink(ByteArrayOutputStream into) {
        return (b, off, len) -> {
            synchronized (into) {
                into.write(b, off, len);
            }
        };
    }
}
