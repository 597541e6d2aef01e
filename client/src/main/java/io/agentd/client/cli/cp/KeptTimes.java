package io.agentd.client.cli.cp;

/**
 * The times {@code cp -a} can keep: -9223372036..9223372036 s from 1970, the years 1677 to 2262.
 * Both sides set times in nanoseconds held in a long (the JDK on the host, the agent, which refuses
 * the rest with EINVAL), and a file may carry any time (a tar's, touch -d 2400-01-01). Such a file
 * is still copied, its mode kept, and its times reported as cp(1) reports times it cannot set; an
 * atomic upload that asked for them was refused whole before (the file lost), and a download had
 * them silently clamped to 2262.
 */
final class KeptTimes {
    static final long MAX_SECONDS = Long.MAX_VALUE / 1_000_000_000L;

    private KeptTimes() {}

    /** Both of {@code source}'s times can be set. */
    static boolean settable(Entry source) {
        return settable(source.mtime()) && settable(source.atime());
    }

    private static boolean settable(long seconds) {
        return seconds >= -MAX_SECONDS && seconds <= MAX_SECONDS;
    }

    /** The item failure for {@code shownPath}, whose copy and mode are kept. */
    static CopyFailure notSettable(String shownPath, Entry source) {
        long outside = settable(source.mtime()) ? source.atime() : source.mtime();
        return new CopyFailure("preserving times for", shownPath, "the time " + outside
                + " s from 1970 is outside the years 1677 to 2262, which cannot be set");
    }
}
