package io.agentd.agent.sys;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/**
 * The libc functions agentd calls, bound by jnr-ffi (get the instance from {@link Native#libc()}).
 * Functions that fail return -1 and leave errno in {@link Native#errno()}, except the posix_spawn
 * family, which returns the error number. Constants are the Linux values (the same on x86_64 and
 * aarch64). Keep to the labelled sections; add a section for a new concern.
 */
public interface LibC {

    // ---- file descriptors ------------------------------------------------------------------

    int O_RDWR = 02;
    int O_NOCTTY = 0400;
    int O_NONBLOCK = 04000;
    int O_CLOEXEC = 02000000;

    int F_GETFD = 1;
    int F_SETFD = 2;
    int F_GETFL = 3;
    int F_SETFL = 4;
    int F_DUPFD_CLOEXEC = 1030;
    int FD_CLOEXEC = 1;

    int open(@In byte[] nulTerminatedPath, int flags, int mode);

    int close(int fd);

    long read(int fd, @Out byte[] buf, long count);

    long write(int fd, @In byte[] buf, long count);

    int pipe2(@Out int[] fds, int flags);

    int fcntl(int fd, int cmd, int arg);

    // ---- poll ------------------------------------------------------------------------------

    short POLLIN = 0x1;
    short POLLOUT = 0x4;
    short POLLERR = 0x8;
    short POLLHUP = 0x10;
    short POLLNVAL = 0x20;

    /** @param fds struct pollfd[nfds]: {int fd; short events; short revents}, 8 bytes each */
    int poll(Pointer fds, long nfds, int timeoutMs);

    // ---- PTY -------------------------------------------------------------------------------

    long TIOCSWINSZ = 0x5414;
    long TIOCGWINSZ = 0x5413;

    int posix_openpt(int flags);

    int grantpt(int masterFd);

    int unlockpt(int masterFd);

    int ptsname_r(int masterFd, @Out byte[] buf, long buflen);

    /** TIOCSWINSZ / TIOCGWINSZ: winsize is {rows, cols, xpixel, ypixel} as unsigned shorts. */
    int ioctl(int fd, long request, short[] winsize);

    // ---- process spawn ---------------------------------------------------------------------
    // Bound here rather than used through jnr-posix: its SpawnAttribute.sigmask/sigdef (3.1.20) throw
    // "not yet supported", and the clean signal state is the point (DESIGN.md decision 1).

    short POSIX_SPAWN_SETSIGDEF = 0x04;
    short POSIX_SPAWN_SETSIGMASK = 0x08;
    short POSIX_SPAWN_SETSID = 0x80;

    /** glibc x86_64 sizes are 80, 336 and 128; rounded up for other ABIs. */
    int SIZEOF_POSIX_SPAWN_FILE_ACTIONS = 256;
    int SIZEOF_POSIX_SPAWNATTR = 512;
    int SIZEOF_SIGSET = 128;

    /** @return 0 or an error number (not -1/errno) */
    int posix_spawnp(@Out int[] pid, @In byte[] nulTerminatedFile, Pointer fileActions, Pointer attr,
                     Pointer argv, Pointer envp);

    int posix_spawn_file_actions_init(Pointer fileActions);

    int posix_spawn_file_actions_destroy(Pointer fileActions);

    int posix_spawn_file_actions_adddup2(Pointer fileActions, int fd, int newFd);

    int posix_spawnattr_init(Pointer attr);

    int posix_spawnattr_destroy(Pointer attr);

    int posix_spawnattr_setflags(Pointer attr, short flags);

    int posix_spawnattr_setsigmask(Pointer attr, Pointer sigset);

    int posix_spawnattr_setsigdefault(Pointer attr, Pointer sigset);

    int sigemptyset(Pointer sigset);

    int sigfillset(Pointer sigset);

    // ---- processes and exit status ---------------------------------------------------------

    int WNOHANG = 1;

    int waitpid(int pid, @Out int[] status, int options);

    int kill(int pid, int signal);

    // ---- raw system calls ------------------------------------------------------------------

    /** The same number on x86_64 and aarch64 (syscalls added after 5.0 share one table). */
    long SYS_PIDFD_OPEN = 434;

    long syscall(long number, long arg1, long arg2);
}
