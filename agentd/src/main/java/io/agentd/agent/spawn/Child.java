package io.agentd.agent.spawn;

/**
 * A started exec helper. The caller owns every fd here and must close them.
 *
 * <p>The helper is running but the target may not be: read {@link #execReportFd} (non-blocking,
 * close-on-exec in the child) to EOF. EOF with nothing read means the target was exec'd ("started");
 * bytes mean a pre-exec step failed: hand them to {@link ExecReport#decode}. The child then exits 127
 * and must still be reaped.
 *
 * @param pid          the child's pid; it leads its own session and process group (pgid == pid)
 * @param pidfd        pidfd_open(pid): readable when the child exits (epoll-friendly), or -1
 * @param stdinFd      parent end of the child's stdin (pipe write end, or the PTY master); non-blocking
 * @param stdoutFd     parent end of the child's stdout (pipe read end, or the PTY master: same fd
 *                     number as stdinFd in PTY mode, close it once)
 * @param stderrFd     parent end of the child's stderr pipe; -1 in PTY mode (stderr goes to the PTY)
 * @param execReportFd read end of the error pipe; non-blocking (-1 from {@link Spawner#startAndAwaitExec},
 *                     which has read and closed it)
 * @param tty          PTY mode
 */
public record Child(int pid, int pidfd, int stdinFd, int stdoutFd, int stderrFd, int execReportFd, boolean tty) {
    /** The PTY master (PTY mode), for TIOCSWINSZ; -1 for pipes. */
    public int ptyMasterFd() {
        return tty ? stdoutFd : -1;
    }
}
