package io.agentd.agent.session.cgroup;

import io.agentd.agent.FirstLinesLog;
import io.agentd.agent.session.SessionGroupRecord;
import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The session cgroups a dead agent left, found and ended once at start ({@link CgroupRoot#killLeftovers}):
 * a session cgroup's name ({@code s-PID-STARTTICKS-SEQ}) says which agent made it, so one whose agent
 * no longer runs (a pid now running with another start time is another process) is killed, waited
 * for and removed, and another live agent's are left alone.
 */
final class DeadAgentLeftovers {
    /** CgroupRoot's: the start's lines about the subtree are all under one name, as they were. */
    private static final Logger log = LoggerFactory.getLogger(CgroupRoot.class);
    private static final Pattern SESSION_NAME = Pattern.compile("s-(\\d+)-(\\d+)-(\\d+)");
    /** How long the start waits for a dead agent's session cgroups to empty, so that ready means they have. */
    private static final long LEFTOVER_WAIT_MILLIS = 2000;

    private final CgroupRoot root;
    /** The populated leftovers, each killed when found and waited for together in {@link #kill}. */
    private final List<SessionCgroup> killedOnes = new ArrayList<>();
    private final FirstLinesLog foreign = new FirstLinesLog(log);
    private int removed;

    DeadAgentLeftovers(CgroupRoot root) {
        this.root = root;
    }

    /**
     * Kills, waits for and removes the leftovers in the sessions' cgroup and the subtree.
     *
     * @return how many cgroups held processes
     */
    int kill() {
        Path dir = root.dir();
        Path sessionsDir = root.sessionsDir();
        // An agent from before the sessions' cgroup made its sessions' cgroups in the subtree itself.
        for (Path parent : sessionsDir.equals(dir) ? List.of(dir) : List.of(sessionsDir, dir)) {
            findIn(parent);
        }
        foreign.end("cgroups left alone for a number past 2^63 in their names");
        // One wait for them all: one at a time, N cgroups whose processes cannot die yet (in the
        // kernel on I/O) held the start N x LEFTOVER_WAIT_MILLIS at every restart (a review: 10 s for 5).
        long deadline = System.nanoTime() + LEFTOVER_WAIT_MILLIS * 1_000_000;
        int stillPopulated = 0;
        for (SessionCgroup leftover : killedOnes) {
            leftover.kill(Math.max(0, (deadline - System.nanoTime()) / 1_000_000));
            if (leftover.remove()) {
                removed++;
            } else if (leftover.populated()) {
                stillPopulated++;
            }
        }
        if (removed > 0 || !killedOnes.isEmpty()) {
            log.warn("killed the processes of {} session cgroup(s) left by an agent that died; removed {}{}",
                    killedOnes.size(), removed, stillPopulated == 0 ? ""
                            : "; " + stillPopulated + " still hold processes that have not died (left in place)");
        }
        return killedOnes.size();
    }

    /**
     * The session cgroups in {@code parent} of agents no longer running: the populated ones killed
     * (each now, waited for together by {@link #kill}) and added to {@link #killedOnes}, the empty ones
     * removed (counted in {@link #removed}).
     */
    private void findIn(Path parent) {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(parent, Files::isDirectory)) {
            for (Path d : dirs) {
                Matcher m = SESSION_NAME.matcher(d.getFileName().toString());
                if (!m.matches()) {
                    continue; // not a session cgroup: no agent made it
                }
                long agentPid;
                long agentStartTicks;
                try {
                    agentPid = Long.parseLong(m.group(1));
                    agentStartTicks = Long.parseLong(m.group(2));
                } catch (NumberFormatException pastALong) {
                    // No agent writes a pid or a start time past a long, so this is no agent's cgroup
                    // (something with write access to the subtree made it): left alone like any other
                    // name no agent makes, and its processes are not an agent's to kill.
                    foreign.warn("cgroup {} left alone: its name has a number past 2^63, no agent made it", d);
                    continue;
                }
                if (SessionGroupRecord.runs(agentPid, agentStartTicks)) {
                    continue; // its agent still runs (a zombie agent does not)
                }
                SessionCgroup leftover = root.cgroupAt(d);
                if (leftover.populated()) {
                    leftover.kill(0); // each killed now, all waited for together in kill()
                    killedOnes.add(leftover);
                } else if (leftover.remove()) {
                    removed++;
                }
            }
        } catch (IOException | DirectoryIteratorException e) {
            log.warn("cannot list {} for a dead agent's session cgroups: {}", parent, e.getMessage());
        }
    }
}
