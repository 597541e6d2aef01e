package io.agentd.agent.spawn;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;

/** PTY allocation for PTY sessions, and the window size (also for core.exec.resize). */
public final class Pty {
    private static final int PTS_NAME_MAX = 128;

    /** master: the session's I/O (non-blocking, close-on-exec); slave: for the child's 0/1/2. */
    record Pair(int master, int slave) {}

    private Pty() {}

    /**
     * Sets the window size of the terminal behind {@code fd} (the master); the kernel sends SIGWINCH
     * to the terminal's foreground process group.
     *
     * @return 0, or the errno of the failed ioctl
     */
    public static int setWindowSize(int fd, int rows, int cols) {
        short[] winsize = {(short) rows, (short) cols, 0, 0};
        return Os.libc().ioctl(fd, LibC.TIOCSWINSZ, winsize) == 0 ? 0 : Os.errno();
    }

    /** Opens a master/slave pair with the given window size; on failure nothing stays open. */
    static Pair open(SpawnSpec spec) throws SpawnFailure {
        LibC libc = Os.libc();
        int master = libc.posix_openpt(LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC);
        if (master < 0) {
            throw failure("posix_openpt", Os.errno(), spec, -1);
        }
        if (libc.grantpt(master) != 0) {
            throw failure("grantpt", Os.errno(), spec, master);
        }
        if (libc.unlockpt(master) != 0) {
            throw failure("unlockpt", Os.errno(), spec, master);
        }
        byte[] name = new byte[PTS_NAME_MAX];
        int err = libc.ptsname_r(master, name, name.length);
        if (err != 0) {
            throw failure("ptsname_r", err, spec, master);
        }
        err = setWindowSize(master, spec.rows(), spec.cols());
        if (err != 0) {
            throw failure("ioctl(TIOCSWINSZ)", err, spec, master);
        }
        if (libc.fcntl(master, LibC.F_SETFL, LibC.O_NONBLOCK) != 0) {
            throw failure("fcntl(ptmx)", Os.errno(), spec, master); // a PTY step: pty_setup_failed
        }
        // O_NOCTTY: the agent must never acquire the session's terminal as its own.
        int slave = libc.open(name /* NUL-terminated by ptsname_r */, LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC, 0);
        if (slave < 0) {
            throw failure("open(pts)", Os.errno(), spec, master);
        }
        return new Pair(master, slave);
    }

    /**
     * Hands the slave to the user the command runs as (group tty, or unchanged when there is no such
     * group), so that the target can open its own terminal again (/dev/tty, $(tty)) after the switch.
     * The slave is closed by the caller on failure.
     */
    static void giveSlaveTo(int slave, int uid, int ttyGid, int mode, SpawnSpec spec) throws SpawnFailure {
        LibC libc = Os.libc();
        if (libc.fchown(slave, uid, ttyGid) != 0) {
            throw failure("fchown(pts)", Os.errno(), spec, -1);
        }
        if (libc.fchmod(slave, mode) != 0) {
            throw failure("fchmod(pts)", Os.errno(), spec, -1);
        }
    }

    private static SpawnFailure failure(String stage, int errno, SpawnSpec spec, int openFd) {
        if (openFd >= 0) {
            Os.libc().close(openFd);
        }
        return new SpawnFailure(ExecReport.failure(stage, errno, spec));
    }
}
