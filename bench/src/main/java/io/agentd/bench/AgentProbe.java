package io.agentd.bench;

import java.io.IOException;
import java.util.List;

/**
 * What the many-sessions bench reads of the agent's process besides the wire: its open-file limit
 * (and raising it), how many children it has, its peak memory. {@link LocalAgentProbe} reads /proc of
 * an agent on this machine; {@link GuestAgentProbe} asks the agent, through a shell it runs, about
 * itself, for an agent the bench cannot see (a guest's, behind its relay). Both parse the same /proc
 * text here.
 */
interface AgentProbe {
    /** Raises the agent's soft and hard RLIMIT_NOFILE to {@code wanted} if it can; says what happened. */
    String raiseOpenFileLimit(long wanted) throws Exception;

    /** The agent's soft RLIMIT_NOFILE. */
    long openFileLimit() throws Exception;

    /** How many children the agent has right now (sessions, and nothing the probe started). */
    int liveChildren() throws Exception;

    /** The agent's peak resident memory (VmHWM). */
    long peakRssBytes() throws Exception;

    /** The soft "Max open files" of a /proc/PID/limits's lines; {@code source} names them in the error. */
    static long openFileLimit(List<String> limitsLines, String source) throws IOException {
        for (String line : limitsLines) {
            if (line.startsWith("Max open files")) {
                return Long.parseLong(line.substring("Max open files".length()).trim().split("\\s+")[0]);
            }
        }
        throw new IOException("no \"Max open files\" in " + source);
    }

    /** The pids in /proc/PID/task/TID/children text (space-separated, possibly empty). */
    static int childCount(String childrenText) {
        String pids = childrenText.strip();
        return pids.isEmpty() ? 0 : pids.split("\\s+").length;
    }
}
