package io.agentd.agent.sys;

import java.nio.ByteBuffer;
import jnr.constants.platform.Errno;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * The daemon's entry to libc: the loaded {@link DaemonLibC}, errno, and the Linux constants it needs
 * (the values are the same on x86_64 and aarch64). Helpers here retry EINTR and turn failures into
 * {@link OsException}; "would block" is a return value, not an exception.
 */
public final class Os {
    public static final DaemonLibC C = LibraryLoader.create(DaemonLibC.class).load("c");
    public static final Runtime RUNTIME = Runtime.getRuntime(C);

    public static final int ESRCH = 3;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int EAGAIN = 11;
    public static final int EPIPE = 32;
    public static final int ENOBUFS = 105;

    public static final int O_RDWR = 2;
    public static final int O_NOCTTY = 0x100;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_CLOEXEC = 0x80000;

    public static final int SIGKILL = 9;
    public static final int SIGTERM = 15;

    public static final int WNOHANG = 1;
    public static final int PR_SET_CHILD_SUBREAPER = 36;
    public static final int CLOCK_REALTIME = 0;
    public static final int CLOCK_BOOTTIME = 7;

    /** Value read by {@link #read} / written by {@link #write} when the fd would block. */
    public static final int WOULD_BLOCK = -1;

    private Os() {}

    public static int errno() {
        return LastError.getLastError(RUNTIME);
    }

    /** "EPIPE" for 32; "errno N" for a number libc does not name. */
    public static String errnoName(int errno) {
        Errno e = Errno.valueOf(errno);
        return e != null && e.defined() && e.intValue() == errno ? e.name() : "errno " + errno;
    }

    public static String describe(int errno) {
        Errno e = Errno.valueOf(errno);
        return e != null && e.defined() && e.intValue() == errno ? e.description() : "unknown error";
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
        while (true) {
            long n = C.read(fd, buf, buf.remaining());
            if (n >= 0) {
                buf.position(buf.position() + (int) n);
                return (int) n;
            }
            int err = errno();
            if (err == EAGAIN) {
                return WOULD_BLOCK;
            }
            if (err != EINTR) {
                throw new OsException("read", err);
            }
        }
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
        while (true) {
            long n = C.write(fd, buf, Math.min(buf.remaining(), maxBytes));
            if (n >= 0) {
                buf.position(buf.position() + (int) n);
                return (int) n;
            }
            int err = errno();
            if (err == EAGAIN) {
                return WOULD_BLOCK;
            }
            if (err != EINTR) {
                throw new OsException("write", err);
            }
        }
    }

    /** Closes an fd the caller owns; -1 is ignored. Linux releases the fd even on EINTR. */
    public static void close(int fd) {
        if (fd >= 0) {
            C.close(fd);
        }
    }

    /** kill(2); returns 0 or the errno (ESRCH when nothing was there to signal). */
    public static int kill(int pid, int sig) {
        return C.kill(pid, sig) == 0 ? 0 : errno();
    }

    /**
     * Signals a whole process group; returns 0 or the errno. A pgid below 2 is refused as ESRCH:
     * kill(0) and kill(-1) would hit the agent's own group or every process.
     */
    public static int killGroup(int pgid, int sig) {
        return pgid > 1 ? kill(-pgid, sig) : ESRCH;
    }

    /** True while the process group still has a member. */
    public static boolean groupAlive(int pgid) {
        return killGroup(pgid, 0) != ESRCH;
    }

    /** Nanoseconds of a clock (CLOCK_REALTIME, CLOCK_BOOTTIME, ...). */
    public static long clockNanos(int clockId) throws OsException {
        Pointer ts = Memory.allocateDirect(RUNTIME, 16);
        check("clock_gettime", C.clock_gettime(clockId, ts));
        return ts.getLong(0) * 1_000_000_000L + ts.getLong(8);
    }

    public static void setClockNanos(int clockId, long nanos) throws OsException {
        Pointer ts = Memory.allocateDirect(RUNTIME, 16);
        ts.putLong(0, Math.floorDiv(nanos, 1_000_000_000L));
        ts.putLong(8, Math.floorMod(nanos, 1_000_000_000L));
        check("clock_settime", C.clock_settime(clockId, ts));
    }
}
