package io.agentd.agent.session;

import io.agentd.agent.sys.LibC;

/**
 * The process group the session's leader made, signalled by its id (the leader's pid) only while
 * that id is surely still this group's. Until the leader is reaped its pid (a zombie's too) is
 * held, so the id names this group and no other; after the reap it does while members live (they
 * hold the id, which cannot be reused meanwhile). Once the group is found gone
 * ({@link SessionIo#reapedLeadersGroupAlive}) its id may be given to another process, and a group
 * that process leads (another session's) would get this session's signals: it is never signalled
 * again (the id can come back only as another group). A group that emptied while no one looked is
 * told apart from its id's next owner by that owner's process. It also says whether the leader has
 * begun its exit, reaped or not: the deadline signals only a leader still running.
 */
final class LeaderGroup {
    private final int pid;
    private final SessionIo io;
    private boolean leaderReaped;
    private boolean foundGone;

    LeaderGroup(int pid, SessionIo io) {
        this.pid = pid;
        this.io = io;
    }

    /** The leader was reaped: the group is looked at now, while its id cannot be another process's yet. */
    void leaderReaped() {
        leaderReaped = true;
        gone();
    }

    /** Sends {@code signal} to the group; returns 0 or the errno, ESRCH once the group was found gone. */
    int signal(int signal) {
        return gone() ? LibC.ESRCH : io.killGroup(pid, signal);
    }

    /**
     * Whether the leader has exited or begun to: it was reaped, or it is a zombie whose exit the
     * loop has not handled yet (its pidfd's readiness waits, or the sweep has not come by), or it is
     * inside its exit, not a zombie yet. Until the reap its pid is its own, so the pid names it.
     */
    boolean leaderExitBegun() {
        return leaderReaped || io.exitBegun(pid);
    }

    /**
     * Whether the leader, not reaped, catches, ignores or blocks SIGTERM: then an exit with a code
     * after a SIGTERM may be its own answer to it. A reaped one's is not asked (false).
     */
    boolean leaderTakesSigtermItself() {
        return !leaderReaped && io.takesSigtermItself(pid);
    }

    /** SIGKILL to the group, asked while the leader is not reaped (its zombie holds the id). */
    void killBeforeLeaderReaped() {
        io.killGroup(pid, LibC.SIGKILL);
    }

    private boolean gone() {
        if (leaderReaped && !foundGone && !io.reapedLeadersGroupAlive(pid)) {
            foundGone = true;
        }
        return foundGone;
    }
}
