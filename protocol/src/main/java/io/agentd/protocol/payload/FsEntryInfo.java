package io.agentd.protocol.payload;

/**
 * Metadata of one file system entry (PROTOCOL.md, "fs family"). {@code kind} is {@link #FILE},
 * {@link #DIR}, {@link #SYMLINK} or {@link #OTHER} (other text is kept as sent: a newer agent may
 * add kinds). {@code mode} is the full st_mode (u32), {@code uid}/{@code gid} u32, times i64 Unix
 * seconds or null; {@code modified} equals {@code mtime}.
 */
public record FsEntryInfo(String path, String kind, long size, long mode, Long modified, long uid, long gid,
                          Long atime, Long mtime) {
    public static final String FILE = "file";
    public static final String DIR = "dir";
    public static final String SYMLINK = "symlink";
    public static final String OTHER = "other";

    public FsEntryInfo {
        if (path == null || kind == null) {
            throw new IllegalArgumentException("path and kind are required");
        }
    }

    public boolean isDir() {
        return DIR.equals(kind);
    }

    public boolean isFile() {
        return FILE.equals(kind);
    }
}
