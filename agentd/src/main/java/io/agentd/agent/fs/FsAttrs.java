package io.agentd.agent.fs;

import io.agentd.protocol.payload.FsSetAttrs;
import java.nio.file.Path;

/**
 * SetStat's and FSetStat's attributes, checked before any is applied: one that cannot be set must
 * fail the request with nothing changed (an answer that says "failed" after the mode was applied
 * would be a lie), and never as an internal error.
 */
final class FsAttrs {
    private FsAttrs() {}

    /** Fails (EFBIG, EINVAL) on the first attribute of {@code a} that cannot be set on {@code p}. */
    static void check(Path p, FsSetAttrs a) throws FsFailure {
        if (a.size() != null && a.size() < 0) { // a u64 of 2^63 or more: no file can be that large
            throw FsFailure.of(FsFailure.EFBIG, "truncate " + p + " to " + Long.toUnsignedString(a.size()) + " bytes");
        }
        checkTime("atime", a.atime(), p);
        checkTime("mtime", a.mtime(), p);
    }

    private static void checkTime(String which, Long seconds, Path p) throws FsFailure {
        if (seconds != null && !FsSetAttrs.settableTime(seconds)) {
            throw new FsFailure(FsFailure.EINVAL, "setstat " + p + ": " + which + " " + seconds
                    + " s is outside the times that can be set, -" + FsSetAttrs.MAX_TIME_SECONDS + ".."
                    + FsSetAttrs.MAX_TIME_SECONDS
                    + " s from 1970 (the years 1677 to 2262) (os error 22)");
        }
    }
}
