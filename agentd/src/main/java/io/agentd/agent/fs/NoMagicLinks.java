package io.agentd.agent.fs;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.nio.ByteBuffer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * open(2) for a request with a user: no /proc "magic link" (/proc/PID/fd/N, cwd, root, exe) is
 * followed on the way. The worker acts with the user's fs uid, but it is a thread of the agent, and
 * the kernel lets a process into its own /proc/self/fd whatever its fs uid: a link the user planted
 * to /proc/self/fd/N (followed by a Read, a Copy or a ListDir with that user) reached a file the
 * agent held open (another host's handle of a file in a directory the user cannot enter), which
 * the user's own processes cannot (the agent is not dumpable). openat2 with RESOLVE_NO_MAGICLINKS
 * (Linux 5.6) refuses such a link with ELOOP; a kernel without it (ENOSYS, or a seccomp filter's
 * EPERM) is opened as before, and the agent says so once.
 *
 * <p>The fs code's own paths into descriptors it holds, /proc/self/fd/N/NAME (a tree walk's
 * directory), are opened relative to N. A host that names such a path itself chose it; what this
 * guards against is a link in a path, which a guest user can plant.
 */
final class NoMagicLinks {
    private static final Logger log = LoggerFactory.getLogger(NoMagicLinks.class);
    /** openat2 has the same number on x86_64 and aarch64 (the shared table). */
    private static final long SYS_OPENAT2 = 437;
    private static final long RESOLVE_NO_MAGICLINKS = 0x02;
    private static final int AT_FDCWD = -100;
    private static final int OPEN_HOW_BYTES = 24;
    private static final Pattern OWN_DESCRIPTOR = Pattern.compile("/proc/self/fd/(\\d+)/(.+)");
    private static volatile boolean unavailable;

    private NoMagicLinks() {}

    /**
     * open(path, flags) as open(2) (-1 and {@link Os#errno()} on failure), without following a
     * magic link while the worker acts as a user.
     */
    static int open(String path, int flags) {
        if (!FsCredentials.actingAsUser() || unavailable) {
            return Os.libc().open(Os.cString(path), flags, 0);
        }
        int dirFd = AT_FDCWD;
        String name = path;
        Matcher own = OWN_DESCRIPTOR.matcher(path);
        if (own.matches()) {
            dirFd = Integer.parseInt(own.group(1));
            name = own.group(2);
        }
        byte[] text = Os.cString(name);
        ByteBuffer call = Os.scratch(OPEN_HOW_BYTES + text.length);
        call.putLong(0, Integer.toUnsignedLong(flags));
        call.putLong(8, 0);
        call.putLong(16, RESOLVE_NO_MAGICLINKS);
        call.put(OPEN_HOW_BYTES, text);
        long address = Os.address(call);
        long fd = Os.libc().syscall(SYS_OPENAT2, dirFd, address + OPEN_HOW_BYTES, address, OPEN_HOW_BYTES);
        if (fd < 0 && (Os.errno() == LibC.ENOSYS || Os.errno() == LibC.EPERM)) {
            unavailable = true;
            log.warn("openat2 refused ({}): fs requests with a user follow links into /proc as the agent's own"
                    + " opens do (Linux 5.6 has openat2)", Os.errnoName(Os.errno()));
            return Os.libc().open(Os.cString(path), flags, 0);
        }
        return (int) fd;
    }

    /** The failure for {@code errno} from {@link #open}: ELOOP says it may be a link into /proc. */
    static FsFailure failure(int errno, String what) {
        if (errno == FsFailure.ELOOP && FsCredentials.actingAsUser() && !unavailable) {
            return new FsFailure(errno, what + ": too many levels of symbolic links, or a link into /proc"
                    + " (/proc/PID/fd/N, cwd, root, exe), which a request with a user does not follow (os error 40)");
        }
        return FsFailure.of(errno, what);
    }
}
