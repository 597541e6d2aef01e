package io.agentd.agent.fs;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.nio.channels.FileChannel;

/**
 * fs never waits for a file's data. Some files that stat calls regular make a read wait until data
 * comes, which may be never: /proc/kmsg until the kernel logs something, tracefs's trace_pipe, a
 * FUSE file a session serves. A Read or Copy of one would hold a shared worker where no close can
 * reach it, and two would stop file operations for every host. So every file fs opens gets
 * O_NONBLOCK, which such files honour with EAGAIN and disk files ignore (their reads and writes wait
 * for the disk, not for data to be made or taken); the JDK's FileChannel reports that EAGAIN as 0
 * bytes moved, told apart from the end of the file (-1) on a read and never returned by a disk
 * file's write. A Copy, which the JDK's own copy reads, asks poll(2)
 * first: such a file with nothing to read is not readable, a disk file always is.
 */
final class WaitFreeFiles {
    private WaitFreeFiles() {}

    /**
     * Sets O_NONBLOCK on a channel fs has just opened (nobody else holds it yet); returns it. A descriptor the JDK
     * does not show (another JDK's layout) is left as it is: its reads may then wait, as before.
     */
    static FileChannel neverWait(FileChannel channel) {
        int fd = ChannelDescriptor.fd(channel);
        if (fd < 0) {
            return channel;
        }
        LibC libc = Os.libc();
        int flags = libc.fcntl(fd, LibC.F_GETFL, 0);
        if (flags >= 0 && (flags & LibC.O_NONBLOCK) == 0) {
            libc.fcntl(fd, LibC.F_SETFL, flags | LibC.O_NONBLOCK);
        }
        return channel;
    }

    /** True when a read of the channel's file would wait for data to come (poll(2): not readable now). */
    static boolean readWouldWait(FileChannel channel) {
        int fd = ChannelDescriptor.fd(channel);
        if (fd < 0) {
            return false;
        }
        return Os.pollNow(fd, LibC.POLLIN) == 0;
    }

    /** EAGAIN for {@code what} (a write) to a file that takes no data now. */
    static FsFailure writeWouldWait(String what) {
        return new FsFailure(FsFailure.EAGAIN, what + ": the file takes no data now, and writes to it wait"
                + " until it does (a kernel or FUSE stream, not a file on a disk); fs does not wait (os error 11)");
    }

    /** EAGAIN for {@code what} (e.g. "read /proc/kmsg") of a file that has no data to read now. */
    static FsFailure wouldWait(String what) {
        return new FsFailure(FsFailure.EAGAIN, what + ": no data to read now, and reads of this file wait"
                + " until some comes (a kernel or FUSE stream, not a file on a disk); fs does not wait"
                + " (os error 11)");
    }
}
