package io.agentd.agent.sys;

import java.nio.ByteBuffer;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/**
 * Every libc function agentd calls, bound by jnr-ffi; call it through {@link Os#libc()}, which also
 * reads errno and holds the retrying helpers. Functions that fail return -1 and leave errno in
 * {@link Os#errno()}. Constants are the Linux values (the same on x86_64 and aarch64). ByteBuffer
 * arguments are read/written from their position (heap or direct). Keep to the labelled sections; add a section for a new concern.
 */
public interface LibC {

    // ---- errno values ----------------------------------------------------------------------

    int EPERM = 1;
    int ENOENT = 2;
    int ESRCH = 3;
    int EINTR = 4;
    int EIO = 5;
    int EAGAIN = 11;
    int EINVAL = 22;
    int EPIPE = 32;
    int ENOSYS = 38;
    int ENOBUFS = 105;

    // ---- file descriptors ------------------------------------------------------------------

    int O_RDONLY = 0;
    int O_WRONLY = 01;
    int O_RDWR = 02;
    int O_CREAT = 0100;
    int O_NOCTTY = 0400;
    int O_APPEND = 02000;
    int O_NONBLOCK = 04000;
    int O_CLOEXEC = 02000000;
    /** A descriptor that names a file without opening it (no FIFO wait, no device open): Linux's O_PATH. */
    int O_PATH = 010000000;
    /** Not the same on x86_64 and aarch64, so read from jnr-constants' table for this machine. */
    int O_NOFOLLOW = jnr.constants.platform.OpenFlags.O_NOFOLLOW.intValue();
    /** As O_NOFOLLOW, per machine: the open fails ENOTDIR, without opening it, when the file is not a directory. */
    int O_DIRECTORY = jnr.constants.platform.OpenFlags.O_DIRECTORY.intValue();

    int F_GETFD = 1;
    int F_GETFL = 3;
    int F_SETFL = 4;
    int F_DUPFD_CLOEXEC = 1030;
    int FD_CLOEXEC = 1;

    int open(@In byte[] nulTerminatedPath, int flags, int mode);

    int close(int fd);

    long read(int fd, @Out byte[] buf, long count);

    long read(int fd, @Out ByteBuffer buf, long count);

    long write(int fd, @In byte[] buf, long count);

    long write(int fd, @In ByteBuffer buf, long count);

    int pipe2(@Out int[] fds, int flags);

    /** newFd made a copy of oldFd (closed first if open), atomically; flags: O_CLOEXEC or 0. */
    int dup3(int oldFd, int newFd, int flags);

    int SPLICE_F_MOVE = 1;
    int SPLICE_F_NONBLOCK = 2;
    /** F_SETPIPE_SZ: a pipe's capacity in bytes (rounded up to a power-of-two number of pages). */
    int F_SETPIPE_SZ = 1031;

    /** Moves up to len bytes from a pipe to fdOut (or back) without copying them through user space. */
    long splice(int fdIn, Pointer offIn, int fdOut, Pointer offOut, long len, int flags);

    int fcntl(int fd, int cmd, int arg);

    int eventfd(int initval, int flags);

    // ---- poll and epoll --------------------------------------------------------------------

    short POLLIN = 0x1;
    short POLLHUP = 0x10;
    /** The peer closed its end of a stream socket, or shut down its writing half. */
    short POLLRDHUP = 0x2000;

    /** @param fds struct pollfd[nfds]: {int fd; short events; short revents}, 8 bytes each */
    int poll(Pointer fds, long nfds, int timeoutMs);

    int epoll_create1(int flags);

    int epoll_ctl(int epfd, int op, int fd, Pointer event);

    int epoll_wait(int epfd, Pointer events, int maxEvents, int timeoutMs);

    // ---- sockets ---------------------------------------------------------------------------

    int socket(int domain, int type, int protocol);

    int bind(int fd, Pointer addr, int addrLen);

    int listen(int fd, int backlog);

    int accept4(int fd, Pointer addr, Pointer addrLen, int flags);

    /** The agent only listens; the tests connect to it where the JDK cannot (vsock). */
    int connect(int fd, Pointer addr, int addrLen);

    int SOL_SOCKET = 1;
    /** struct ucred {pid_t pid; uid_t uid; gid_t gid;} of the peer, as of its connect. */
    int SO_PEERCRED = 17;
    /** The peer's supplementary groups (gid_t[]), as of its connect; Linux 4.13 and later. */
    int SO_PEERGROUPS = 59;

    int getsockopt(int fd, int level, int optname, Pointer optval, Pointer optlen);

    // ---- terminals and PTYs ----------------------------------------------------------------

    long TIOCSWINSZ = 0x5414;

    int isatty(int fd);

    int tcgetattr(int fd, Pointer termios);

    void cfmakeraw(Pointer termios);

    int tcsetattr(int fd, int optionalActions, Pointer termios);

    int posix_openpt(int flags);

    int grantpt(int masterFd);

    int unlockpt(int masterFd);

    int ptsname_r(int masterFd, @Out byte[] buf, long buflen);

    /** TIOCSWINSZ: winsize is {rows, cols, xpixel, ypixel} as unsigned shorts. */
    int ioctl(int fd, long request, short[] winsize);

    long FIONREAD = 0x541B;

    /** FIONREAD: the bytes waiting to be read. */
    int ioctl(int fd, long request, @Out int[] count);

    // ---- processes, signals and exit status ------------------------------------------------

    int SIGKILL = 9;
    int SIGTERM = 15;

    int WNOHANG = 1;

    int PR_SET_CHILD_SUBREAPER = 36;
    int PR_SET_DUMPABLE = 4;

    int waitpid(int pid, @Out int[] status, int options);

    int kill(int pid, int signal);

    int prctl(int option, long arg2, long arg3, long arg4, long arg5);

    // ---- credentials and file ownership ----------------------------------------------------

    int getuid();

    int fchown(int fd, int owner, int group);

    int fchmod(int fd, int mode);

    // ---- file times ------------------------------------------------------------------------

    /** utimensat's dirFd for a path that is absolute or taken from the working directory. */
    int AT_FDCWD = -100;
    /** utimensat on a symbolic link itself, not on what it names. */
    int AT_SYMLINK_NOFOLLOW = 0x100;
    /** A tv_nsec that leaves that time as it is. */
    long UTIME_OMIT = (1L << 30) - 2;

    /**
     * Sets a file's times by its path: explicit times need the file's ownership (or CAP_FOWNER),
     * never permission to open it.
     *
     * @param times struct timespec[2], {atime, mtime}, each {tv_sec, tv_nsec} as two 64-bit values:
     *              the layout of 64-bit Linux (x86-64, aarch64), which the agent runs on (its native
     *              shim and the guest image are x86-64); a 32-bit port would need a struct here
     */
    int utimensat(int dirFd, @In byte[] nulTerminatedPath, @In long[] times, int flags);

    /**
     * chmod(2) relative to a directory; with AT_SYMLINK_NOFOLLOW glibc (2.32+) names the file by an
     * O_PATH descriptor and never opens it, and a link is EOPNOTSUPP.
     */
    int fchmodat(int dirFd, @In byte[] nulTerminatedPath, int mode, int flags);

    // ---- clocks ----------------------------------------------------------------------------

    int CLOCK_REALTIME = 0;
    int CLOCK_BOOTTIME = 7;

    int clock_gettime(int clockId, Pointer timespec);

    int clock_settime(int clockId, Pointer timespec);

    // ---- raw system calls ------------------------------------------------------------------

    /** The same number on x86_64 and aarch64 (syscalls added after 5.0 share one table). */
    long SYS_PIDFD_OPEN = 434;

    long syscall(long number, long arg1, long arg2);

    /** pidfd_send_signal(pidfd, sig, info, flags): the same number on x86_64 and aarch64. */
    long SYS_PIDFD_SEND_SIGNAL = 424;

    long syscall(long number, long arg1, long arg2, long arg3, long arg4);

    // ---- per-thread file system credentials (fs operations with a user) --------------------

    /** setfsuid / setfsgid: one argument, the previous value returned (never an error). */
    long syscall(long number, long arg1);

    /** setgroups(size, list) as a raw system call: it changes the calling thread only. */
    long syscall(long number, long size, @In int[] list);

    int getgroups(int size, @Out int[] list);

    int getgid();
}
