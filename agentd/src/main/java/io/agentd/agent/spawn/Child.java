package io.agentd.agent.spawn;

/**
 * A started command: the target has been exec'd. The caller owns every fd here and must close them,
 * and must reap the pid.
 *
 * @param pid      the child's pid; it leads its own session and process group (pgid == pid)
 * @param pidfd    a pidfd for pid: readable when the child exits (epoll-friendly), or -1 on kernels
 *                 without pidfds
 * @param stdinFd  parent end of the child's stdin (pipe write end, or the PTY master); non-blocking
 * @param stdoutFd parent end of the child's stdout (pipe read end, or the PTY master: same fd number
 *                 as stdinFd in PTY mode, close it once)
 * @param stderrFd parent end of the child's stderr pipe; -1 in PTY mode (stderr goes to the PTY)
 * @param tty      PTY mode
 * @param ptySlaveFd the agent's own fd of the PTY's slave (PTY mode), -1 for pipes: held until the
 *                 leader exits, so that the master does not read EIO (taken for the end of output)
 *                 while the command has let go of its terminal's 0, 1 and 2 and opens /dev/tty later
 */
public record Child(int pid, int pidfd, int stdinFd, int stdoutFd, int stderrFd, boolean tty, int ptySlaveFd) {
    /** A child the agent holds no slave of (pipes, or a test's PTY). */
    public Child(int pid, int pidfd, int stdinFd, int stdoutFd, int stderrFd, boolean tty) {
        this(pid, pidfd, stdinFd, stdoutFd, stderrFd, tty, -1);
    }

    /** The PTY master (PTY mode), for TIOCSWINSZ; -1 for pipes. */
    public int ptyMasterFd() {
        return tty ? stdoutFd : -1;
    }
}
