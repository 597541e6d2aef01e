package io.agentd.agent.sys;

import java.nio.ByteBuffer;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/**
 * The libc calls the daemon's event loop, transports and sessions make, bound with jnr-ffi.
 * Call through {@link Os}, which loads this once, reads errno and holds the constants.
 * ByteBuffer arguments are read/written from their position (heap or direct).
 */
public interface DaemonLibC {
    int epoll_create1(int flags);

    int epoll_ctl(int epfd, int op, int fd, Pointer event);

    int epoll_wait(int epfd, Pointer events, int maxEvents, int timeoutMs);

    int eventfd(int initval, int flags);

    long read(int fd, @Out ByteBuffer buf, long count);

    long write(int fd, @In ByteBuffer buf, long count);

    int close(int fd);

    int open(String path, int flags, int mode);

    int fcntl(int fd, int cmd, int arg);

    int isatty(int fd);

    int socket(int domain, int type, int protocol);

    int bind(int fd, Pointer addr, int addrLen);

    int listen(int fd, int backlog);

    int accept4(int fd, Pointer addr, Pointer addrLen, int flags);

    int ioctl(int fd, long request, Pointer arg);

    int kill(int pid, int sig);

    int waitpid(int pid, @Out int[] status, int options);

    int prctl(int option, long arg2, long arg3, long arg4, long arg5);

    int clock_gettime(int clockId, Pointer timespec);

    int clock_settime(int clockId, Pointer timespec);

    int tcgetattr(int fd, Pointer termios);

    void cfmakeraw(Pointer termios);

    int tcsetattr(int fd, int optionalActions, Pointer termios);
}
