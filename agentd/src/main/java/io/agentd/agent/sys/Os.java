package io.agentd.agent.sys;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The one entry to libc: the loaded {@link LibC}, errno, C strings, native memory for structs, and
 * helpers that retry EINTR and turn failures into {@link OsException} ("would block" is a return
 * value, not an exception). Constants live on {@link LibC}.
 */
public final class Os {
    private static final LibC LIBC = load();

    /** Value read by {@link #read} / written by {@link #write} when the fd would block. */
    public static final int WOULD_BLOCK = -1;

    private Os() {}

    public static LibC libc() {
        return LIBC;
    }

    private static LibC load() {
        ShimLibrary.load();
        if (LibC.openFlag(0) != LibC.O_NOFOLLOW || LibC.openFlag(1) != LibC.O_DIRECTORY) {
            throw new IllegalStateException("LibC's O_NOFOLLOW or O_DIRECTORY is not this machine's ("
                    + System.getProperty("os.arch") + ")");
        }
        return new LibC();
    }

    /**
     * Zeroed native memory in the machine's byte order, for a struct a {@link LibC} call reads or
     * fills (passed from its first byte); freed when the buffer is unreachable, so keep it reachable
     * for as long as the kernel or a native call may use it.
     */
    public static ByteBuffer allocate(int bytes) {
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
    }

    private static final int SCRATCH_BYTES = 8192;
    private static final ThreadLocal<ByteBuffer> SCRATCH = ThreadLocal.withInitial(() -> allocate(SCRATCH_BYTES));

    /**
     * {@code bytes} of this thread's scratch native memory, zeroed, for a struct that lives within one
     * call: the thread's one buffer (what the accept of each connection or a poll of one fd would
     * otherwise allocate and leave to the collector each time), so take it, use it and drop it
     * before anything else on the thread takes it.
     */
    public static ByteBuffer scratch(int bytes) {
        if (bytes > SCRATCH_BYTES) {
            return allocate(bytes);
        }
        ByteBuffer scratch = SCRATCH.get();
        for (int i = 0; i < bytes; i += 8) {
            scratch.putLong(i, 0);
        }
        return slice(scratch, 0, bytes);
    }

    /** {@code length} bytes of a native struct buffer from {@code offset}, as a buffer of their own. */
    public static ByteBuffer slice(ByteBuffer buffer, int offset, int length) {
        return buffer.slice(offset, length).order(ByteOrder.nativeOrder());
    }

    /**
     * The address of a direct buffer's first byte, for a struct that points into its own memory;
     * valid while the buffer is reachable.
     */
    public static long address(ByteBuffer direct) {
        if (!direct.isDirect()) {
            throw new IllegalArgumentException("not native memory: " + direct);
        }
        return LibC.address(direct);
    }

    /** errno of this thread's last libc call through {@link #libc()}. */
    public static int errno() {
        return LIBC.lastErrno();
    }

    /** "EPIPE" for 32; "errno N" for a number libc does not name. */
    public static String errnoName(int errno) {
        String name = LibC.errnoName(errno);
        return name != null ? name : "errno " + errno;
    }

    /** "Broken pipe" for 32; "unknown error" for a number libc does not name. */
    public static String errnoDescription(int errno) {
        String text = LibC.errnoDescription(errno);
        return text != null ? text : "unknown error";
    }

    /** A C string (UTF-8, NUL-terminated) for a byte[] parameter. */
    public static byte[] cString(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        byte[] c = new byte[utf8.length + 1];
        System.arraycopy(utf8, 0, c, 0, utf8.length);
        return c;
    }

    /** Throws for -1 (errno), returns the value otherwise. */
    public static int check(String call, int result) throws OsException {
        if (result == -1) {
            throw new OsException(call, errno());
        }
        return result;
    }

    /**
     * Non-blocking read into {@code buf} from its position; advances the position.
     * Returns the bytes read, 0 at end of file, or {@link #WOULD_BLOCK}.
     */
    public static int read(int fd, ByteBuffer buf) throws OsException {
        // No capturing lambda on this path (it was one): C1, the agent's only compiler, allocates
        // one through a call into the VM (Unsafe.allocateInstance), and every frame reads and writes.
        int n;
        do {
            n = moved(buf, LIBC.read(fd, buf, buf.remaining()), "read");
        } while (n == INTERRUPTED);
        return n;
    }

    /**
     * Non-blocking write of {@code buf} from its position; advances the position.
     * Returns the bytes written (maybe fewer than remaining) or {@link #WOULD_BLOCK}.
     */
    public static int write(int fd, ByteBuffer buf) throws OsException {
        return write(fd, buf, buf.remaining());
    }

    /**
     * Like {@link #write(int, ByteBuffer)} but offers at most {@code maxBytes}: a heap buffer is copied
     * to native memory for each call, so large buffers go in pieces the fd can take.
     */
    public static int write(int fd, ByteBuffer buf, int maxBytes) throws OsException {
        int n;
        do {
            n = moved(buf, LIBC.write(fd, buf, Math.min(buf.remaining(), maxBytes)), "write");
        } while (n == INTERRUPTED);
        return n;
    }

    /**
     * Non-blocking splice of up to {@code len} bytes from the pipe {@code pipeFd} to {@code outFd}.
     * Returns the bytes moved, 0 when the pipe is empty with no writer left, or {@link #WOULD_BLOCK}.
     */
    public static int spliceFromPipe(int pipeFd, int outFd, int len) throws OsException {
        int n;
        do {
            n = outcome(LIBC.splice(pipeFd, outFd, len, LibC.SPLICE_F_MOVE | LibC.SPLICE_F_NONBLOCK), "splice");
        } while (n == INTERRUPTED);
        return n;
    }

    /** The bytes waiting in a pipe (FIONREAD). */
    public static int bytesReadable(int fd) throws OsException {
        int[] count = new int[1];
        if (LIBC.ioctl(fd, LibC.FIONREAD, count) != 0) {
            throw new OsException("ioctl(FIONREAD)", errno());
        }
        return count[0];
    }

    /**
     * True when the peer of socket {@code fd} has closed it (POLLHUP or POLLRDHUP now), without
     * waiting and without reading; false when it has not or poll(2) cannot say.
     */
    public static boolean peerClosed(int fd) {
        int revents = pollNow(fd, LibC.POLLRDHUP);
        return revents > 0 && (revents & (LibC.POLLHUP | LibC.POLLRDHUP)) != 0;
    }

    /**
     * poll(2) of one fd for {@code events}, without waiting: the events it reports now (revents), 0
     * when none is, -1 when poll(2) fails.
     */
    public static int pollNow(int fd, short events) {
        ByteBuffer pollfd = scratch(8); // struct pollfd {int fd; short events; short revents}
        pollfd.putInt(0, fd);
        pollfd.putShort(4, events);
        int ready = LIBC.poll(pollfd, 1, 0);
        return ready < 0 ? -1 : ready == 0 ? 0 : pollfd.getShort(6) & 0xffff;
    }

    /** {@link #moved}'s answer for EINTR: the call is made again. */
    private static final int INTERRUPTED = -2;

    /**
     * The outcome of one non-blocking read or write that returned {@code result}: the count (the
     * position moved past it), {@link #WOULD_BLOCK} for EAGAIN, {@link #INTERRUPTED} for EINTR.
     */
    private static int moved(ByteBuffer buf, long result, String call) throws OsException {
        int n = outcome(result, call);
        if (n > 0) {
            buf.position(buf.position() + n);
        }
        return n;
    }

    /** The same for a call that moves no buffer's position. */
    private static int outcome(long result, String call) throws OsException {
        if (result >= 0) {
            return (int) result;
        }
        int err = errno();
        if (err == LibC.EAGAIN) {
            return WOULD_BLOCK;
        }
        if (err == LibC.EINTR) {
            return INTERRUPTED;
        }
        throw new OsException(call, err);
    }

    /** Closes an fd the caller owns; -1 is ignored. Linux releases the fd even on EINTR. */
    public static void close(int fd) {
        if (fd >= 0) {
            LIBC.close(fd);
        }
    }

    /** kill(2); returns 0 or the errno (ESRCH when nothing was there to signal). */
    public static int kill(int pid, int sig) {
        return LIBC.kill(pid, sig) == 0 ? 0 : errno();
    }

    /**
     * Signals a whole process group; returns 0 or the errno. A pgid below 2 is refused as ESRCH:
     * kill(0) and kill(-1) would hit the agent's own group or every process.
     */
    public static int killGroup(int pgid, int sig) {
        return pgid > 1 ? kill(-pgid, sig) : LibC.ESRCH;
    }

    /** True while the process group still has a member. */
    public static boolean groupAlive(int pgid) {
        return killGroup(pgid, 0) != LibC.ESRCH;
    }

    /** Nanoseconds of a clock (CLOCK_REALTIME, CLOCK_BOOTTIME, ...). */
    public static long clockNanos(int clockId) throws OsException {
        ByteBuffer ts = scratch(16);
        check("clock_gettime", LIBC.clock_gettime(clockId, ts));
        return ts.getLong(0) * 1_000_000_000L + ts.getLong(8);
    }

    public static void setClockNanos(int clockId, long nanos) throws OsException {
        ByteBuffer ts = scratch(16);
        ts.putLong(0, Math.floorDiv(nanos, 1_000_000_000L));
        ts.putLong(8, Math.floorMod(nanos, 1_000_000_000L));
        check("clock_settime", LIBC.clock_settime(clockId, ts));
    }
}
