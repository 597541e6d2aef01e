package io.agentd.agent.session;

import io.agentd.agent.spawn.Pty;
import io.agentd.agent.sys.ExitBegun;
import io.agentd.agent.sys.SigtermDisposition;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import java.nio.ByteBuffer;

/**
 * The syscalls a session and the reaper make, and nothing else: the seam where a test replaces the
 * kernel with a script (see the session tests), so the state machines run without a child process.
 * {@link #SYSTEM} is the real one. Results as {@link Os} gives them.
 */
public interface SessionIo {
    /** Non-blocking read into {@code buf}: bytes read, 0 at end of file, or {@link Os#WOULD_BLOCK}. */
    int read(int fd, ByteBuffer buf) throws OsException;

    /** Non-blocking write of at most {@code maxBytes}: bytes written or {@link Os#WOULD_BLOCK}. */
    int write(int fd, ByteBuffer buf, int maxBytes) throws OsException;

    /** The bytes waiting in a pipe (FIONREAD). */
    int bytesReadable(int fd) throws OsException;

    /** F_SETPIPE_SZ; true when the pipe now holds {@code bytes}. */
    boolean resizePipe(int fd, int bytes);

    /** Closes an fd the caller owns; -1 is ignored. */
    void close(int fd);

    /** Signals a process group: 0 or the errno. */
    int killGroup(int pgid, int signal);

    /** True while the process group has a member. */
    boolean groupAlive(int pgid);

    /** True while a process (a zombie too) has the pid {@code pid}. */
    boolean processAlive(int pid);

    /**
     * Whether the group of a leader already reaped still has members, the group its session made.
     * Once such a group is empty its id is free, and a new process given that pid may lead a group
     * of its own by it (a setsid, another session's leader): kill(-id) would reach that one. The
     * kernel never hands out a pid that a live group still uses as its id, so a process holding the
     * number now means the old group is gone, whatever kill(-id, 0) says of the new one.
     */
    default boolean reapedLeadersGroupAlive(int pgid) {
        return !processAlive(pgid) && groupAlive(pgid);
    }

    /** waitpid(pid, WNOHANG): the pid reaped, 0 when none exited, -1 when there is none. */
    int waitpid(int pid, int[] status);

    /** Whether the child {@code pid}, not reaped yet, has begun its exit ({@link ExitBegun}). */
    boolean exitBegun(int pid);

    /** Whether the child {@code pid}, not reaped yet, catches, ignores or blocks SIGTERM ({@link SigtermDisposition}). */
    boolean takesSigtermItself(int pid);

    /** TIOCSWINSZ on a PTY master: 0 or the errno. */
    int setWindowSize(int masterFd, int rows, int cols);

    /** The kernel. */
    SessionIo SYSTEM = new SessionIo() {
        @Override
        public int read(int fd, ByteBuffer buf) throws OsException {
            return Os.read(fd, buf);
        }

        @Override
        public int write(int fd, ByteBuffer buf, int maxBytes) throws OsException {
            return Os.write(fd, buf, maxBytes);
        }

        @Override
        public int bytesReadable(int fd) throws OsException {
            return Os.bytesReadable(fd);
        }

        @Override
        public boolean resizePipe(int fd, int bytes) {
            return Os.libc().fcntl(fd, LibC.F_SETPIPE_SZ, bytes) >= 0;
        }

        @Override
        public void close(int fd) {
            Os.close(fd);
        }

        @Override
        public int killGroup(int pgid, int signal) {
            return Os.killGroup(pgid, signal);
        }

        @Override
        public boolean groupAlive(int pgid) {
            return Os.groupAlive(pgid);
        }

        @Override
        public boolean processAlive(int pid) {
            return pid > 0 && Os.kill(pid, 0) != LibC.ESRCH;
        }

        @Override
        public int waitpid(int pid, int[] status) {
            return Os.libc().waitpid(pid, status, LibC.WNOHANG);
        }

        @Override
        public boolean exitBegun(int pid) {
            return ExitBegun.of(pid);
        }

        @Override
        public boolean takesSigtermItself(int pid) {
            return SigtermDisposition.takenItselfBy(pid);
        }

        @Override
        public int setWindowSize(int masterFd, int rows, int cols) {
            return Pty.setWindowSize(masterFd, rows, cols);
        }
    };
}
