package io.agentd.client.relay;

import java.nio.ByteBuffer;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/** The libc calls the relay's spliced path makes (the JDK has no splice), bound by jnr-ffi. */
public interface SpliceLibC {
    int EINTR = 4;
    int EAGAIN = 11;
    int O_NONBLOCK = 04000;
    int O_CLOEXEC = 02000000;
    int F_SETPIPE_SZ = 1031;
    int F_GETPIPE_SZ = 1032;
    int SPLICE_F_MOVE = 1;
    int SPLICE_F_NONBLOCK = 2;
    long FIONREAD = 0x541B;

    int pipe2(@Out int[] fds, int flags);

    int fcntl(int fd, int cmd, int arg);

    /** Moves up to len bytes into or out of a pipe without copying them through user space. */
    long splice(int fdIn, Pointer offIn, int fdOut, Pointer offOut, long len, int flags);

    long write(int fd, @In ByteBuffer buf, long count);

    int ioctl(int fd, long request, @Out int[] count);

    int close(int fd);

    String strerror(int errnum);
}
