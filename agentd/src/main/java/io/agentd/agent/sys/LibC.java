package io.agentd.agent.sys;

import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;

/**
 * Every libc function agentd calls, as JNI methods of native-shim's library (native-shim/agentd-jni.c
 * says how each is made and copied); call it through {@link Os#libc()}, which loads the library and
 * also reads errno and holds the retrying helpers. Functions that fail return -1 and leave errno in
 * {@link Os#errno()}. Constants are the Linux values (the same on x86_64 and aarch64). The
 * ByteBuffers of read and write are read/written from their position (heap or direct); every other
 * ByteBuffer is a struct in native memory ({@link Os#allocate}), passed from its first byte. Java
 * arrays are copied in and out around the call. Keep to the labelled sections; add a section for a
 * new concern (and its wrapper, in the same section of agentd-jni.c).
 */
public final class LibC {

    /** The one instance, {@link Os#libc()}: made once the library is loaded. */
    LibC() {}

    /** errno saved by the last call on this thread ({@link Os#errno()}). */
    native int lastErrno();

    /** The file these methods were registered from ({@link ShimLibrary} checks it is the one it loaded). */
    static native String loadedFrom();

    /** How many native methods of this class the library registers (a test counts them). */
    static native int methodsRegistered();

    /** The C headers' O_NOFOLLOW (0) or O_DIRECTORY (1). */
    static native int openFlag(int which);

    /** The address of a direct buffer's first byte ({@link Os#address}). */
    static native long address(ByteBuffer direct);

    /** glibc's name of an errno value ("EPIPE"), or null for a number it does not know. */
    static native String errnoName(int errno);

    /** glibc's text for an errno value ("Broken pipe"), or null for a number it does not know. */
    static native String errnoDescription(int errno);

    // ---- errno values ----------------------------------------------------------------------

    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int ENXIO = 6;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;
    public static final int ENOSPC = 28;
    public static final int EINVAL = 22;
    public static final int EPIPE = 32;
    public static final int ENOSYS = 38;
    /** getsockopt's answer for an option this kernel does not have (SO_PEERPIDFD before Linux 6.5). */
    public static final int ENOPROTOOPT = 92;
    public static final int ENOBUFS = 105;

    // ---- file descriptors ------------------------------------------------------------------

    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 01;
    public static final int O_RDWR = 02;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_NOCTTY = 0400;
    public static final int O_APPEND = 02000;
    public static final int O_NONBLOCK = 04000;
    public static final int O_CLOEXEC = 02000000;
    /** A descriptor that names a file without opening it (no FIFO wait, no device open): Linux's O_PATH. */
    public static final int O_PATH = 010000000;
    private static final boolean ARM64 = "aarch64".equals(System.getProperty("os.arch"));
    /**
     * Not the same on x86_64 and aarch64 (Os checks both against the C headers the library was built
     * with when it loads it: this class is initialised while the library loads, before its methods
     * are there to ask).
     */
    public static final int O_NOFOLLOW = ARM64 ? 0100000 : 0400000;
    /** As O_NOFOLLOW, per machine: the open fails ENOTDIR, without opening it, when the file is not a directory. */
    public static final int O_DIRECTORY = ARM64 ? 040000 : 0200000;

    public static final int F_GETFD = 1;
    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;
    public static final int F_DUPFD_CLOEXEC = 1030;
    public static final int FD_CLOEXEC = 1;

    public native int open(byte[] nulTerminatedPath, int flags, int mode);

    public native int close(int fd);

    public long read(int fd, byte[] buf, long count) {
        return readArray(fd, buf, 0, count);
    }

    /** Reads into {@code buf} from its position (the position is not moved: {@link Os#read} moves it). */
    public long read(int fd, ByteBuffer buf, long count) {
        if (buf.isReadOnly()) {
            throw new ReadOnlyBufferException();
        }
        if (buf.isDirect()) {
            return readDirect(fd, buf, buf.position(), count);
        }
        return readArray(fd, buf.array(), buf.arrayOffset() + buf.position(), count);
    }

    public long write(int fd, byte[] buf, long count) {
        return writeArray(fd, buf, 0, count);
    }

    /** Writes from {@code buf}'s position (the position is not moved: {@link Os#write} moves it). */
    public long write(int fd, ByteBuffer buf, long count) {
        if (buf.isDirect()) {
            return writeDirect(fd, buf, buf.position(), count);
        }
        if (buf.hasArray()) {
            return writeArray(fd, buf.array(), buf.arrayOffset() + buf.position(), count);
        }
        byte[] copy = new byte[(int) Math.min(count, buf.remaining())]; // a read-only heap buffer
        buf.get(buf.position(), copy);
        return writeArray(fd, copy, 0, copy.length);
    }

    private native long readArray(int fd, byte[] buf, int offset, long count);

    private native long readDirect(int fd, ByteBuffer buf, int offset, long count);

    private native long writeArray(int fd, byte[] buf, int offset, long count);

    private native long writeDirect(int fd, ByteBuffer buf, int offset, long count);

    public native int pipe2(int[] fds, int flags);

    /** newFd made a copy of oldFd (closed first if open), atomically; flags: O_CLOEXEC or 0. */
    public native int dup3(int oldFd, int newFd, int flags);

    public static final int SPLICE_F_MOVE = 1;
    public static final int SPLICE_F_NONBLOCK = 2;
    /** F_SETPIPE_SZ: a pipe's capacity in bytes (rounded up to a power-of-two number of pages). */
    public static final int F_SETPIPE_SZ = 1031;

    /**
     * Moves up to len bytes from a pipe to fdOut (or back) without copying them through user space;
     * no offsets (both ends are read and written where they stand).
     */
    public native long splice(int fdIn, int fdOut, long len, int flags);

    public native int fcntl(int fd, int cmd, int arg);

    public native int eventfd(int initval, int flags);

    // ---- poll and epoll --------------------------------------------------------------------

    public static final short POLLIN = 0x1;
    public static final short POLLHUP = 0x10;
    /** The peer closed its end of a stream socket, or shut down its writing half. */
    public static final short POLLRDHUP = 0x2000;

    /** @param fds struct pollfd[nfds]: {int fd; short events; short revents}, 8 bytes each */
    public native int poll(ByteBuffer fds, long nfds, int timeoutMs);

    public native int epoll_create1(int flags);

    public native int epoll_ctl(int epfd, int op, int fd, ByteBuffer event);

    public native int epoll_wait(int epfd, ByteBuffer events, int maxEvents, int timeoutMs);

    // ---- sockets ---------------------------------------------------------------------------

    public native int socket(int domain, int type, int protocol);

    public native int bind(int fd, ByteBuffer addr, int addrLen);

    public native int listen(int fd, int backlog);

    public native int accept4(int fd, ByteBuffer addr, ByteBuffer addrLen, int flags);

    /** The agent only listens; the tests connect to it where the JDK cannot (vsock). */
    public native int connect(int fd, ByteBuffer addr, int addrLen);

    public static final int SOL_SOCKET = 1;
    /** struct ucred {pid_t pid; uid_t uid; gid_t gid;} of the peer, as of its connect. */
    public static final int SO_PEERCRED = 17;
    /** The peer's supplementary groups (gid_t[]), as of its connect; Linux 4.13 and later. */
    public static final int SO_PEERGROUPS = 59;
    /**
     * A pidfd (int) of the peer's process as of its connect: that process, never another given its
     * pid later; Linux 6.5 and later (ENOPROTOOPT before). Opened O_CLOEXEC by the kernel.
     */
    public static final int SO_PEERPIDFD = 77;

    public native int getsockopt(int fd, int level, int optname, ByteBuffer optval, ByteBuffer optlen);

    // ---- terminals and PTYs ----------------------------------------------------------------

    public static final long TIOCSWINSZ = 0x5414;

    public native int isatty(int fd);

    public native int tcgetattr(int fd, ByteBuffer termios);

    public native void cfmakeraw(ByteBuffer termios);

    public native int tcsetattr(int fd, int optionalActions, ByteBuffer termios);

    public native int posix_openpt(int flags);

    public native int grantpt(int masterFd);

    public native int unlockpt(int masterFd);

    public native int ptsname_r(int masterFd, byte[] buf, long buflen);

    /** TIOCSWINSZ: winsize is {rows, cols, xpixel, ypixel} as unsigned shorts. */
    public native int ioctl(int fd, long request, short[] winsize);

    public static final long FIONREAD = 0x541B;
    /** Further opens of the tty fail with EBUSY, except by a process with CAP_SYS_ADMIN. */
    public static final long TIOCEXCL = 0x540C;
    /** Undoes {@link #TIOCEXCL}. */
    public static final long TIOCNXCL = 0x540D;

    /** An int argument by address: FIONREAD (the bytes waiting to be read); TIOCEXCL and TIOCNXCL ignore it. */
    public native int ioctl(int fd, long request, int[] count);

    // ---- processes, signals and exit status ------------------------------------------------

    public static final int SIGKILL = 9;
    public static final int SIGTERM = 15;

    public static final int WNOHANG = 1;

    public static final int PR_SET_CHILD_SUBREAPER = 36;
    public static final int PR_SET_DUMPABLE = 4;

    public native int waitpid(int pid, int[] status, int options);

    public native int kill(int pid, int signal);

    /**
     * sigaction(signal) with the library's own handler, which writes the signal's number, one byte,
     * to {@code fd} (a pipe's write end, non-blocking): a signal taken without a thread made for it.
     * Every signal so handled writes to the same fd; another fd answers EBUSY. A signal ignored now
     * (since the process's start) is left ignored: 1.
     */
    public native int sigactionToPipe(int signal, int fd);

    public native int prctl(int option, long arg2, long arg3, long arg4, long arg5);

    // ---- credentials and file ownership ----------------------------------------------------

    public native int getuid();

    public native int fchown(int fd, int owner, int group);

    public native int fchmod(int fd, int mode);

    /** Sets the file's size: shrinks it, or extends it with a hole (no data written, no block taken). */
    public native int ftruncate(int fd, long length);

    /** lseek's whence: the next byte of data at or after the offset (ENXIO: none before the end). */
    public static final int SEEK_DATA = 3;
    /** lseek's whence: the next hole at or after the offset (the end of the file counts as one). */
    public static final int SEEK_HOLE = 4;

    /**
     * lseek(2): the new offset, or -1. With {@link #SEEK_DATA} and {@link #SEEK_HOLE} it finds a
     * sparse file's data without reading its holes; a file system without them answers EINVAL.
     */
    public native long lseek(int fd, long offset, int whence);

    // ---- file times ------------------------------------------------------------------------

    /** utimensat's dirFd for a path that is absolute or taken from the working directory. */
    public static final int AT_FDCWD = -100;
    /** utimensat on a symbolic link itself, not on what it names. */
    public static final int AT_SYMLINK_NOFOLLOW = 0x100;
    /** A tv_nsec that leaves that time as it is. */
    public static final long UTIME_OMIT = (1L << 30) - 2;

    /**
     * Sets a file's times by its path: explicit times need the file's ownership (or CAP_FOWNER),
     * never permission to open it.
     *
     * @param times struct timespec[2], {atime, mtime}, each {tv_sec, tv_nsec} as two 64-bit values:
     *              the layout of 64-bit Linux (x86-64, aarch64), which the agent runs on (its native
     *              shim and the guest image are x86-64); a 32-bit port would need a struct here
     */
    public native int utimensat(int dirFd, byte[] nulTerminatedPath, long[] times, int flags);

    /**
     * chmod(2) relative to a directory; with AT_SYMLINK_NOFOLLOW glibc (2.32+) names the file by an
     * O_PATH descriptor and never opens it, and a link is EOPNOTSUPP.
     */
    public native int fchmodat(int dirFd, byte[] nulTerminatedPath, int mode, int flags);

    // ---- files relative to a directory descriptor -----------------------------------------

    /** open(2) of a path taken from the directory {@code dirFd} names (an O_PATH one will do), not from its path. */
    public native int openat(int dirFd, byte[] nulTerminatedPath, int flags, int mode);

    public native int mkdirat(int dirFd, byte[] nulTerminatedPath, int mode);

    public native int renameat(int oldDirFd, byte[] oldNulTerminatedPath, int newDirFd, byte[] newNulTerminatedPath);

    // ---- clocks ----------------------------------------------------------------------------

    public static final int CLOCK_REALTIME = 0;
    public static final int CLOCK_BOOTTIME = 7;

    public native int clock_gettime(int clockId, ByteBuffer timespec);

    public native int clock_settime(int clockId, ByteBuffer timespec);

    // ---- raw system calls ------------------------------------------------------------------

    /** The same number on x86_64 and aarch64 (syscalls added after 5.0 share one table). */
    public static final long SYS_PIDFD_OPEN = 434;

    public native long syscall(long number, long arg1, long arg2);

    /** pidfd_send_signal(pidfd, sig, info, flags): the same number on x86_64 and aarch64. */
    public static final long SYS_PIDFD_SEND_SIGNAL = 424;

    public native long syscall(long number, long arg1, long arg2, long arg3, long arg4);

    // ---- per-thread file system credentials (fs operations with a user) --------------------

    /** setfsuid / setfsgid: one argument, the previous value returned (never an error). */
    public native long syscall(long number, long arg1);

    /** setgroups(size, list) as a raw system call: it changes the calling thread only. */
    public native long syscall(long number, long size, int[] list);

    public native int getgroups(int size, int[] list);

    public native int getgid();
}
