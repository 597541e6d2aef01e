package io.agentd.client.transport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.TimeUnit;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

/**
 * An AF_VSOCK stream socket (a guest's agent reached from the host's vhost-vsock, or from inside the
 * guest on its local CID) as a blocking {@link StreamChannel}, through libc calls.
 *
 * <p>Close from another thread: {@code shutdown(2)} wakes a read in progress (a bare {@code close}
 * would not, and its fd number could be reused under the reader), and the fd itself is closed by
 * whoever leaves last, the closer or the last read or write still in the kernel.
 */
final class VsockStream implements StreamChannel {
    private static final class Lib {
        static final VsockLibC C = LibraryLoader.create(VsockLibC.class).load("c");
        static final Runtime RUNTIME = Runtime.getRuntime(C);
    }

    private final int fd;
    private final String peer;
    private final Object lock = new Object();
    private int inFlight; // guarded by lock
    private boolean closed; // guarded by lock
    private boolean fdClosed; // guarded by lock

    /** Takes over {@code fd}, a connected stream socket (tests hand it one end of a socketpair). */
    VsockStream(int fd, String peer) {
        this.fd = fd;
        this.peer = peer;
    }

    /** Connects to {@code port} of context {@code cid}. */
    static VsockStream connect(long cid, long port) throws IOException {
        String peer = "vsock:" + cid + ":" + port;
        int fd = Lib.C.socket(SockaddrVm.AF_VSOCK, VsockLibC.SOCK_STREAM | VsockLibC.SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw failure("cannot open an AF_VSOCK socket for " + peer + " (is the vsock module loaded?)");
        }
        byte[] addr = SockaddrVm.encode(cid, port);
        while (Lib.C.connect(fd, addr, addr.length) != 0) {
            int errno = errno();
            if (errno != VsockLibC.EINTR) {
                // A port nobody listens on: the host's vhost-vsock says ECONNREFUSED, the guest's
                // vsock_loopback ECONNRESET ("Connection reset by peer", which hides the reason).
                IOException e = errno == VsockLibC.ECONNRESET || errno == VsockLibC.ECONNREFUSED
                        ? failure("nothing listens on " + peer)
                        : failure("cannot connect to " + peer);
                Lib.C.close(fd);
                throw e;
            }
        }
        return new VsockStream(fd, peer);
    }

    /** Tests only: a connected pair of AF_UNIX stream socket fds. */
    static int[] unixSocketPair() throws IOException {
        int[] fds = new int[2];
        if (Lib.C.socketpair(1 /* AF_UNIX */, VsockLibC.SOCK_STREAM | VsockLibC.SOCK_CLOEXEC, 0, fds) != 0) {
            throw failure("socketpair");
        }
        return fds;
    }

    private static int errno() {
        return Lib.RUNTIME.getLastError();
    }

    private static IOException failure(String what) {
        int errno = errno();
        return new IOException(what + ": " + Lib.C.strerror(errno) + " (errno " + errno + ")");
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        enter();
        try {
            while (true) {
                long n = Lib.C.read(fd, dst, dst.remaining());
                if (n > 0) {
                    dst.position(dst.position() + (int) n);
                    return (int) n;
                }
                if (n == 0) {
                    return -1;
                }
                if (errno() != VsockLibC.EINTR) {
                    throw failure("reading from " + peer);
                }
            }
        } finally {
            leave();
        }
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        enter();
        try {
            while (true) {
                long n = Lib.C.write(fd, src, src.remaining());
                if (n >= 0) {
                    src.position(src.position() + (int) n);
                    return (int) n;
                }
                if (errno() != VsockLibC.EINTR) {
                    throw failure("writing to " + peer);
                }
            }
        } finally {
            leave();
        }
    }

    /** One write per buffer: the frames written this way are a header and its data, two buffers. */
    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        long total = 0;
        for (int i = offset; i < offset + length; i++) {
            while (srcs[i].hasRemaining()) {
                total += write(srcs[i]);
            }
        }
        return total;
    }

    @Override
    public long write(ByteBuffer[] srcs) throws IOException {
        return write(srcs, 0, srcs.length);
    }

    /**
     * Sends without blocking (the socket itself stays blocking for the other calls) and waits for
     * room in poll(2), which a close's shutdown(2) wakes, until the deadline.
     */
    @Override
    public long writeBefore(ByteBuffer[] srcs, long deadline) throws IOException {
        if (deadline == Long.MAX_VALUE) {
            return write(srcs);
        }
        enter();
        try {
            long total = 0;
            for (ByteBuffer src : srcs) {
                while (src.hasRemaining()) {
                    long n = Lib.C.send(fd, src, src.remaining(), VsockLibC.MSG_DONTWAIT);
                    if (n >= 0) {
                        src.position(src.position() + (int) n);
                        total += n;
                        continue;
                    }
                    int errno = errno();
                    if (errno == VsockLibC.EINTR) {
                        continue;
                    }
                    if (errno != VsockLibC.EAGAIN) {
                        throw failure("writing to " + peer);
                    }
                    if (total > 0 || !awaitRoom(deadline)) {
                        return total;
                    }
                }
            }
            return total;
        } finally {
            leave();
        }
    }

    /** Waits in poll(2) until the socket has room (or an error the next send reports); false once the deadline passed. */
    private boolean awaitRoom(long deadline) throws IOException {
        ByteBuffer pollFd = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            pollFd.clear();
            pollFd.putInt(fd).putShort(VsockLibC.POLLOUT).putShort((short) 0);
            int millis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, TimeUnit.NANOSECONDS.toMillis(left + 999_999)));
            int ready = Lib.C.poll(pollFd.array(), 1, millis);
            if (ready > 0) {
                return true;
            }
            if (ready < 0 && errno() != VsockLibC.EINTR) {
                throw failure("waiting to write to " + peer);
            }
        }
    }

    @Override
    public boolean isOpen() {
        synchronized (lock) {
            return !closed;
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            Lib.C.shutdown(fd, VsockLibC.SHUT_RDWR); // wakes a reader blocked in read(2)
            closeFdIfIdle();
        }
    }

    private void enter() throws ClosedChannelException {
        synchronized (lock) {
            if (closed) {
                throw new ClosedChannelException();
            }
            inFlight++;
        }
    }

    private void leave() {
        synchronized (lock) {
            inFlight--;
            closeFdIfIdle();
        }
    }

    private void closeFdIfIdle() {
        if (closed && inFlight == 0 && !fdClosed) {
            fdClosed = true;
            Lib.C.close(fd);
        }
    }
}
