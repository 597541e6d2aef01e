package io.agentd.agent.transport;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.nio.ByteBuffer;

/**
 * The process at the other end of a unix socket connection, pinned by the kernel at its connect
 * (SO_PEERPIDFD, Linux 6.5): a pidfd names that process and never another, whatever later takes its
 * pid. A pid alone does not: once the connecting process is gone (and a process that may stop the
 * agent can hold the accept back for as long as it likes) its pid may be given to any other
 * process, and what /proc/PID says is that process's. With the pidfd, what was read of /proc/PID
 * is known to be the peer's when the pidfd's process is still there after the read: a pid is not
 * given again while its process is.
 */
final class PeerPidfd {
    /** {@link #of}'s answer on a kernel without SO_PEERPIDFD (before 6.5: Debian 12's 6.1). */
    static final int UNAVAILABLE = -1;
    /** {@link #of}'s answer when the kernel has no process left to give (the peer is gone). */
    static final int GONE = -2;

    private PeerPidfd() {}

    /**
     * A pidfd of the peer of {@code socketFd} (the caller closes it), {@link #UNAVAILABLE} or
     * {@link #GONE}.
     *
     * @throws SocketAcceptor.Admission.NoDescriptor when the agent has no descriptor left for it
     */
    static int of(int socketFd, String peerName) {
        ByteBuffer scratch = Os.scratch(8);
        ByteBuffer pidfd = Os.slice(scratch, 0, 4);
        ByteBuffer len = Os.slice(scratch, 4, 4);
        len.putInt(0, 4);
        if (Os.libc().getsockopt(socketFd, LibC.SOL_SOCKET, LibC.SO_PEERPIDFD, pidfd, len) == 0) {
            return pidfd.getInt(0);
        }
        int errno = Os.errno();
        if (errno == LibC.ENOPROTOOPT) {
            return UNAVAILABLE;
        }
        if (errno == LibC.EMFILE || errno == LibC.ENFILE) {
            throw new SocketAcceptor.Admission.NoDescriptor(peerName, errno);
        }
        return GONE; // ESRCH, or EINVAL for a pid with no process left (kernels before 6.16)
    }

    /**
     * Whether the pidfd's process is still there: signal 0 checks without sending one (EPERM, an
     * agent not root asking of a root peer, is an answer of a process that is there; ESRCH is none).
     */
    static boolean alive(int pidfd) {
        return Os.libc().syscall(LibC.SYS_PIDFD_SEND_SIGNAL, pidfd, 0, 0, 0) == 0 || Os.errno() == LibC.EPERM;
    }
}
