package io.agentd.protocol.payload;

/**
 * The attributes a SetStat/FSetStat changes; a null one is left alone. {@code mode}, {@code uid}
 * and {@code gid} are u32, {@code size} u64, {@code atime} and {@code mtime} i64 Unix seconds.
 */
public record FsSetAttrs(Long mode, Long uid, Long gid, Long size, Long atime, Long mtime) {
    /** Changes nothing. */
    public static final FsSetAttrs NONE = new FsSetAttrs(null, null, null, null, null, null);
}
