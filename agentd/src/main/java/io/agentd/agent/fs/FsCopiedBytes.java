package io.agentd.agent.fs;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * A Copy's bytes, from its source into its temporary file, a slice at a time ({@link FsSlice}),
 * the source's holes kept. Its data is found with lseek(2)'s SEEK_DATA and SEEK_HOLE and only
 * that is read: read through, an 8 TiB file of one hole took five hours at 0.44 GiB/s of zeros (a
 * review), now no longer than its data. Where the file system has no SEEK_DATA (EINVAL), or it says
 * the file ends where a read finds more (a /proc or /sys file's size), the rest is read through. A
 * chunk that reads as zeros is left a hole either way (as cp(1) makes for a sparse file): a copy
 * of a sparse file took every block of its size, and filled a disk the file itself fitted on. The
 * copy is as long as the source: a hole at its end is made by the size, not written.
 */
final class FsCopiedBytes {
    /** Bytes a Copy reads and writes at a time. */
    private static final int CHUNK_BYTES = 64 * 1024;
    private static final ByteBuffer ZEROS = ByteBuffer.allocate(CHUNK_BYTES).asReadOnlyBuffer();

    private final FileChannel source;
    private final FileChannel target;
    /** The source's descriptor for lseek(2); -1 when the channel does not say (then read through). */
    private final int sourceFd;
    private final String what;
    private final ByteBuffer buffer = ByteBuffer.allocate(CHUNK_BYTES);
    /** The source's offset to copy from next. */
    private long at;
    /** Where the run of data {@link #at} is in ends (lseek's next hole); Long.MAX_VALUE once read through. */
    private long dataEnd;

    FsCopiedBytes(FileChannel source, FileChannel target, String what) {
        this.source = source;
        this.target = target;
        this.sourceFd = ChannelDescriptor.fd(source);
        this.what = what;
        this.dataEnd = sourceFd >= 0 ? 0 : Long.MAX_VALUE;
    }

    /** Copies until the source's end (true: the target then has its size) or the end of {@code slice} (false). */
    boolean copy(FsSlice slice) throws IOException, FsFailure {
        do {
            FsStop.check(what);
            if (at >= dataEnd) {
                nextData();
            }
            int n = source.read(buffer.clear().limit((int) Math.min(CHUNK_BYTES, dataEnd - at)), at);
            if (n < 0) {
                sizeTarget();
                return true;
            }
            if (n == 0) { // O_NONBLOCK's EAGAIN: the file stopped having data (a kernel or FUSE stream)
                throw WaitFreeFiles.wouldWait(what);
            }
            buffer.flip();
            if (buffer.mismatch(ZEROS.duplicate().limit(n)) >= 0) {
                for (long to = at; buffer.hasRemaining(); ) {
                    to += target.write(buffer, to);
                }
            }
            at += n;
        } while (!slice.over());
        return false;
    }

    /**
     * Moves {@link #at} to the source's next data and {@link #dataEnd} to the hole after it. No data
     * after {@link #at} (ENXIO): {@link #at} goes to the source's size, where a read ends the copy,
     * or, the size said too little, reads on through. Any other failure of SEEK_DATA (EINVAL: the
     * file system has none) reads through from {@link #at}, as a copy did before.
     */
    private void nextData() throws IOException {
        LibC libc = Os.libc();
        long data = libc.lseek(sourceFd, at, LibC.SEEK_DATA);
        if (data < 0) {
            if (Os.errno() == LibC.ENXIO) {
                at = Math.max(at, source.size());
            }
            dataEnd = Long.MAX_VALUE;
            return;
        }
        long hole = libc.lseek(sourceFd, data, LibC.SEEK_HOLE);
        at = Math.max(at, data);
        // A hole no further than the data (the file cut meanwhile) or none found: read on to the end.
        dataEnd = hole > at ? hole : Long.MAX_VALUE;
    }

    /** Zeros at the end were not written: the target is given the size without them. */
    private void sizeTarget() throws IOException, FsFailure {
        if (target.size() >= at) {
            return;
        }
        int fd = ChannelDescriptor.fd(target);
        if (fd < 0) {
            target.write(ByteBuffer.allocate(1), at - 1);
        } else if (Os.libc().ftruncate(fd, at) != 0) {
            throw FsFailure.of(Os.errno(), what);
        }
    }
}
