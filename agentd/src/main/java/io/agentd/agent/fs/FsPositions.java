package io.agentd.agent.fs;

import java.nio.file.Path;

/**
 * Where a Read or Write may go. Offsets are u64 on the wire, Java longs here: one of 2^63 or more is
 * negative, and FileChannel would refuse it with an IllegalArgumentException ("Negative position")
 * that names no errno. The kernel's file offsets stop at 2^63-1 (EINVAL past it, as pread says), so
 * such a position gets that typed answer here, before any I/O.
 */
final class FsPositions {
    private FsPositions() {}

    /** Position {@code offset + done} (the request's offset, bytes already done) must be a file offset. */
    static void check(long offset, long done, String what, Path path) throws FsFailure {
        if (offset < 0 || offset + done < 0) {
            throw new FsFailure(FsFailure.EINVAL, what + " " + path + " at offset " + Long.toUnsignedString(offset)
                    + (done == 0 ? "" : " + " + done) + ": past the largest file offset, 2^63-1 (os error 22)");
        }
    }
}
