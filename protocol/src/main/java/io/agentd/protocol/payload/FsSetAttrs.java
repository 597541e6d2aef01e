package io.agentd.protocol.payload;

/**
 * The attributes a SetStat/FSetStat changes; a null one is left alone. {@code mode}, {@code uid}
 * and {@code gid} are u32, {@code size} u64, {@code atime} and {@code mtime} i64 Unix seconds.
 */
public record FsSetAttrs(Long mode, Long uid, Long gid, Long size, Long atime, Long mtime) {
    /** Changes nothing. */
    public static final FsSetAttrs NONE = new FsSetAttrs(null, null, null, null, null, null);

    /**
     * The furthest {@code atime}/{@code mtime} from 1970 an agent sets, either way: 9223372036 s
     * (the years 1677 to 2262, nanoseconds held in a long). Past it the agent answers EINVAL with
     * nothing changed (docs/PROTOCOL-EXTENSIONS.md, SetStat).
     */
    public static final long MAX_TIME_SECONDS = Long.MAX_VALUE / 1_000_000_000L;

    /** {@code seconds} is a time an agent sets ({@link #MAX_TIME_SECONDS}). */
    public static boolean settableTime(long seconds) {
        return seconds >= -MAX_TIME_SECONDS && seconds <= MAX_TIME_SECONDS;
    }
}
