package io.agentd.client.cli.cp;

import io.agentd.protocol.payload.FsSetAttrs;

/**
 * The times {@code cp -a} can keep: {@link FsSetAttrs#settableTime}, the years 1677 to 2262.
 * Both sides set times in nanoseconds held in a long (the JDK on the host, the agent, which refuses
 * the rest with EINVAL), and a file may carry any time (a tar's, touch -d 2400-01-01). Such a file
 * is still copied, its mode kept, and its times reported as cp(1) reports times it cannot set; an
 * atomic upload that asked for them was refused whole before (the file lost), and a download had
 * them silently clamped to 2262.
 */
final class KeptTimes {
    private KeptTimes() {}

    /** Both of {@code source}'s times can be set. */
    static boolean settable(Entry source) {
        return FsSetAttrs.settableTime(source.mtime()) && FsSetAttrs.settableTime(source.atime());
    }

    /** The item failure for {@code shownPath}, whose copy and mode are kept. */
    static CopyFailure notSettable(String shownPath, Entry source) {
        long outside = FsSetAttrs.settableTime(source.mtime()) ? source.atime() : source.mtime();
        return new CopyFailure("preserving times for", shownPath, "the time " + outside
                + " s from 1970 is outside the years 1677 to 2262, which cannot be set");
    }
}
