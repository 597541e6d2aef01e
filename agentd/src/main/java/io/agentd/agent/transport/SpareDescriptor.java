package io.agentd.agent.transport;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;

/**
 * One file descriptor held in reserve (/dev/null, read-only) so that a listening socket can still
 * take a connection when the agent has used every descriptor its limit allows: given up for that
 * one accept, it lets the acceptor tell the host why it cannot be served and close it, instead of
 * leaving it in the backlog with no answer until some session ends (a hostile review: one host's
 * sessions took them all, and every new host hung). Loop thread only.
 */
final class SpareDescriptor {
    private static final byte[] DEV_NULL = Os.cString("/dev/null");
    private int fd = -1;

    /** Takes the spare descriptor if it is not held; false when the agent has none to spare either. */
    boolean take() {
        if (fd < 0) {
            fd = Os.libc().open(DEV_NULL, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        }
        return fd >= 0;
    }

    /** Gives the descriptor back to the process for the caller's next call; false when none was held. */
    boolean release() {
        if (fd < 0) {
            return false;
        }
        Os.close(fd);
        fd = -1;
        return true;
    }
}
