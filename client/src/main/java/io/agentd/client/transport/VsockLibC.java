package io.agentd.client.transport;

import java.nio.ByteBuffer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/** The few libc calls an AF_VSOCK client socket needs (the JDK has no vsock), bound by jnr-ffi. */
public interface VsockLibC {
    int SOCK_STREAM = 1;
    int SOCK_CLOEXEC = 02000000;
    int SHUT_RDWR = 2;
    int EINTR = 4;
    int EAGAIN = 11;
    int MSG_DONTWAIT = 0x40;
    short POLLOUT = 4;
    int ECONNRESET = 104;
    int ECONNREFUSED = 111;

    int socket(int domain, int type, int protocol);

    /** Tests only: a connected pair of AF_UNIX stream sockets, to drive the fd code without vsock. */
    int socketpair(int domain, int type, int protocol, @Out int[] fds);

    int connect(int fd, @In byte[] addr, int addrLen);

    long read(int fd, @Out ByteBuffer buf, long count);

    long write(int fd, @In ByteBuffer buf, long count);

    long send(int fd, @In ByteBuffer buf, long count, int flags);

    /** {@code fds}: struct pollfd entries (int fd, short events, short revents) in native byte order. */
    int poll(@In @Out byte[] fds, long nfds, int timeoutMillis);

    int shutdown(int fd, int how);

    int close(int fd);

    String strerror(int errnum);
}
