package io.agentd.agent.session.cgroup;

import io.agentd.protocol.payload.ExecFailed;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sessions' memory found full: their own limit met (their cgroup's memory.events.local oom grew,
 * {@link CgroupRoot#sessionsOoms}), not a session's memory_max, seen at a session's OOM kill or at a
 * spawn the kernel refused memory, and said in one warning with what fills it, at most one a minute.
 * Loop thread only.
 */
final class SessionsMemoryFull {
    /** SessionCgroups': the session cgroups' lines are all under one name, as they were. */
    private static final Logger log = LoggerFactory.getLogger(SessionCgroups.class);
    /** At most one line a minute says that the sessions' memory is full. */
    private static final long FULL_LINE_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(60);

    private final CgroupRoot root;
    /** The sessions' own OOM count ({@link CgroupRoot#sessionsOoms}) when last read. */
    private long sessionsOomsSeen;
    /** When the last line about the sessions' full memory was logged (System.nanoTime), and whether one was. */
    private long fullLineNanos;
    private boolean fullLineLogged;
    /** Sessions OOM-killed at the sessions' limit since that line, not logged. */
    private int fullUnsaid;

    /** @param root the subtree, or null: sessions without cgroups */
    SessionsMemoryFull(CgroupRoot root) {
        this.root = root;
        this.sessionsOomsSeen = root == null ? 0 : root.sessionsOoms(); // an earlier agent's are not this one's
    }

    /**
     * A session's process was OOM-killed (its exit says oom_killed): when it was the sessions' own
     * limit that the kernel met (their cgroup's memory.events.local oom grew), not the session's
     * memory_max, one warning says what fills the sessions' memory ({@link #sayTheSessionsAreFull}).
     */
    void sayIfTheSessionsAreFull(SessionCgroup cgroup) {
        long ooms = root.sessionsOoms();
        if (ooms > sessionsOomsSeen) {
            sayTheSessionsAreFull(cgroup, ooms, root.memoryState());
        }
    }

    /**
     * One warning that the sessions' memory is full, with what fills it ({@code state}), most often
     * files in tmpfs that sessions left: they stay charged to the sessions until removed, and the
     * next sessions are OOM-killed at once. At most one a minute: the exits say oom_killed each, and
     * the next line counts the ones in between.
     */
    private void sayTheSessionsAreFull(SessionCgroup cgroup, long ooms, String state) {
        sessionsOomsSeen = ooms;
        long now = System.nanoTime();
        if (fullLineLogged && now - fullLineNanos < FULL_LINE_INTERVAL_NANOS) {
            fullUnsaid++;
            return;
        }
        log.warn("the sessions' memory is full: a process of {} was OOM-killed or refused memory at the sessions'"
                + " limit; {}{}", cgroup.dir().getFileName(), state, fullUnsaid == 0 ? ""
                        : "; " + fullUnsaid + " more session(s) met it since the last such line");
        fullLineLogged = true;
        fullLineNanos = now;
        fullUnsaid = 0;
    }

    /** {@link SessionCgroups#spawnFailure}. */
    ExecFailed spawnFailure(SessionCgroup cgroup, ExecFailed failed) {
        if (root == null || !"ENOMEM".equals(failed.errnoName())) {
            return failed;
        }
        long ooms = root.sessionsOoms();
        if (ooms <= sessionsOomsSeen) {
            return failed;
        }
        String state = root.memoryState();
        sayTheSessionsAreFull(cgroup, ooms, state);
        return new ExecFailed(failed.kind(), failed.errno(), failed.errnoName(), failed.message()
                + "; the sessions' memory is full: " + state, failed.stage());
    }
}
