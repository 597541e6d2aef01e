package io.agentd.agent.sys;

import io.agentd.protocol.payload.Rlimit;
import java.nio.ByteBuffer;

/**
 * A process's RLIMIT_NOFILE (soft and hard; {@link #INFINITY} is RLIM_INFINITY), read and set through
 * prlimit64 on the calling process.
 */
public record OpenFileLimit(long soft, long hard) {
    /** RLIM_INFINITY: u64 all ones. */
    public static final long INFINITY = Rlimit.INFINITY;
    /** prlimit64 has its own number on each machine (it predates the shared table); -1 elsewhere. */
    private static final long SYS_PRLIMIT64 = switch (System.getProperty("os.arch")) {
        case "amd64", "x86_64" -> 302;
        case "aarch64" -> 261;
        default -> -1;
    };
    private static final int RLIMIT_NOFILE = 7;
    private static final int STRUCT_BYTES = 16;

    /** This process's limit now. */
    public static OpenFileLimit current() throws OsException {
        ByteBuffer old = Os.allocate(STRUCT_BYTES);
        call(0, Os.address(old));
        return new OpenFileLimit(old.getLong(0), old.getLong(8));
    }

    /** Sets this process's limit (raising the hard one needs CAP_SYS_RESOURCE). */
    public void apply() throws OsException {
        ByteBuffer limit = Os.allocate(STRUCT_BYTES);
        limit.putLong(0, soft);
        limit.putLong(8, hard);
        call(Os.address(limit), 0);
    }

    /** Whether this limit's soft value is below {@code other}'s (RLIM_INFINITY above every number). */
    public boolean softBelow(OpenFileLimit other) {
        return Long.compareUnsigned(soft, other.soft) < 0;
    }

    private static void call(long newLimit, long oldLimit) throws OsException {
        if (SYS_PRLIMIT64 < 0) {
            throw new OsException("prlimit(RLIMIT_NOFILE) on " + System.getProperty("os.arch"), LibC.ENOSYS);
        }
        long r = Os.libc().syscall(SYS_PRLIMIT64, 0, RLIMIT_NOFILE, newLimit, oldLimit);
        if (r != 0) {
            throw new OsException("prlimit(RLIMIT_NOFILE)", Os.errno());
        }
    }

    @Override
    public String toString() {
        return Rlimit.text(soft) + ":" + Rlimit.text(hard);
    }
}
