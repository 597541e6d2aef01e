package io.agentd.client.relay;

import java.io.IOException;
import java.nio.ByteBuffer;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

/**
 * A pipe that carries bytes from the agent's port to one client's socket by splice(2): the kernel
 * moves the pages of the port's socket buffers into the pipe and from the pipe into the client's
 * socket, and the relay never reads or copies them. The relay counts what the pipe holds
 * ({@link #held}), so it never splices into a full pipe (a non-blocking splice into a full pipe and
 * one from an empty socket both answer EAGAIN). Selector thread only.
 */
final class SplicePipe implements AutoCloseable {
    /** {@link #fillFrom}: the source has nothing now. */
    static final long WOULD_BLOCK = -1;
    /** {@link #fillFrom}: the source cannot be spliced from (EINVAL): copy instead. */
    static final long UNSUPPORTED = -2;
    /** As large as the agent's largest spliced frame, so a whole frame fits (the kernel may cap it). */
    private static final int WANTED_CAPACITY = 1024 * 1024;
    private static final int EINVAL = 22;
    private static final int FLAGS = SpliceLibC.SPLICE_F_MOVE | SpliceLibC.SPLICE_F_NONBLOCK;

    private static final class Lib {
        static final SpliceLibC C = LibraryLoader.create(SpliceLibC.class).load("c");
        static final Runtime RUNTIME = Runtime.getRuntime(C);
    }

    private final int readFd;
    private final int writeFd;
    private final int sinkFd;
    private final int capacity;
    private long held;
    private boolean closed;

    private SplicePipe(int readFd, int writeFd, int sinkFd, int capacity) {
        this.readFd = readFd;
        this.writeFd = writeFd;
        this.sinkFd = sinkFd;
        this.capacity = capacity;
    }

    /**
     * Binds libc now, when the relay starts, not at the first large frame (jnr-ffi generates its
     * stubs then); false when it cannot (the relay then copies).
     */
    static boolean available() {
        try {
            return Lib.C != null;
        } catch (LinkageError | RuntimeException e) {
            return false;
        }
    }

    /** A new pipe to the socket {@code sinkFd}, enlarged if the kernel lets this user. */
    static SplicePipe open(int sinkFd) throws IOException {
        int[] fds = new int[2];
        if (Lib.C.pipe2(fds, SpliceLibC.O_NONBLOCK | SpliceLibC.O_CLOEXEC) != 0) {
            throw failure("pipe2");
        }
        // Past fs.pipe-user-pages-soft the kernel refuses to enlarge (EPERM): the default size works,
        // in more splices.
        Lib.C.fcntl(fds[1], SpliceLibC.F_SETPIPE_SZ, WANTED_CAPACITY);
        int capacity = Lib.C.fcntl(fds[1], SpliceLibC.F_GETPIPE_SZ, 0);
        if (capacity <= 0) {
            IOException e = failure("F_GETPIPE_SZ");
            Lib.C.close(fds[0]);
            Lib.C.close(fds[1]);
            throw e;
        }
        return new SplicePipe(fds[0], fds[1], sinkFd, capacity);
    }

    /** Bytes in the pipe, not yet spliced to the client. */
    long held() {
        return held;
    }

    int capacity() {
        return capacity;
    }

    /** Bytes that still fit by the count (the pipe's slots may run out first: see {@link #fillFrom}). */
    long room() {
        return capacity - held;
    }

    /**
     * Moves up to {@code max} bytes (at most {@link #room}) from the socket {@code fd} into the pipe:
     * the count moved, 0 at the end of the socket's stream, {@link #WOULD_BLOCK} when the socket has
     * nothing or the pipe's slots are full, {@link #UNSUPPORTED} when the kernel cannot splice it.
     */
    long fillFrom(int fd, long max) throws IOException {
        while (true) {
            long n = Lib.C.splice(fd, null, writeFd, null, max, FLAGS);
            if (n >= 0) {
                held += n;
                return n;
            }
            int errno = errno();
            if (errno == SpliceLibC.EAGAIN) {
                return WOULD_BLOCK;
            }
            if (errno == EINVAL) {
                return UNSUPPORTED;
            }
            if (errno != SpliceLibC.EINTR) {
                throw failure(errno, "splicing from the port");
            }
        }
    }

    /** Copies {@code src} (from its position) into the pipe, as much as fits now; advances it. */
    long write(ByteBuffer src) throws IOException {
        while (true) {
            long n = Lib.C.write(writeFd, src, src.remaining());
            if (n >= 0) {
                src.position(src.position() + (int) n);
                held += n;
                return n;
            }
            int errno = errno();
            if (errno == SpliceLibC.EAGAIN) {
                return 0;
            }
            if (errno != SpliceLibC.EINTR) {
                throw failure(errno, "writing to a relay pipe");
            }
        }
    }

    /** Moves up to {@code max} held bytes to the client's socket: the count moved, 0 when it is full. */
    long drain(long max) throws IOException {
        while (true) {
            long n = Lib.C.splice(readFd, null, sinkFd, null, max, FLAGS);
            if (n >= 0) {
                held -= n;
                return n;
            }
            int errno = errno();
            if (errno == SpliceLibC.EAGAIN) {
                return 0;
            }
            if (errno != SpliceLibC.EINTR) {
                throw failure(errno, "splicing to the client");
            }
        }
    }

    /** Bytes waiting to be read on the socket {@code fd} (FIONREAD), or -1 when it cannot say. */
    static int readable(int fd) {
        int[] count = new int[1];
        return Lib.C.ioctl(fd, SpliceLibC.FIONREAD, count) == 0 ? count[0] : -1;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Lib.C.close(readFd);
            Lib.C.close(writeFd);
        }
    }

    private static int errno() {
        return Lib.RUNTIME.getLastError();
    }

    private static IOException failure(String what) {
        return failure(errno(), what);
    }

    private static IOException failure(int errno, String what) {
        return new IOException(what + ": " + Lib.C.strerror(errno) + " (errno " + errno + ")");
    }
}
