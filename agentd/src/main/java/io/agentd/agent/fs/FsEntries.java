package io.agentd.agent.fs;

import io.agentd.agent.sys.FileType;
import io.agentd.protocol.payload.FsEntryInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;

/** FsEntryInfo from stat(2)/lstat(2), through the JDK's "unix" attribute view (the full st_mode). */
final class FsEntries {
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};
    private static final LinkOption[] FOLLOW = {};

    private FsEntries() {}

    static FsEntryInfo stat(Path path, boolean follow) throws FsFailure {
        return stat(path, path, follow);
    }

    /** @param shown the entry's path in the answer and messages (a handle's, when {@code path} is its /proc/self/fd/N) */
    static FsEntryInfo stat(Path path, Path shown, boolean follow) throws FsFailure {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(path, "unix:mode,uid,gid,size,lastModifiedTime,lastAccessTime",
                    follow ? FOLLOW : NOFOLLOW);
        } catch (IOException e) {
            throw FsErrors.from(e, (follow ? "stat " : "lstat ") + shown);
        }
        int mode = (Integer) a.get("mode");
        long mtime = seconds(a.get("lastModifiedTime"));
        return new FsEntryInfo(shown.toString(), kind(mode), (Long) a.get("size"), Integer.toUnsignedLong(mode), mtime,
                Integer.toUnsignedLong((Integer) a.get("uid")), Integer.toUnsignedLong((Integer) a.get("gid")),
                seconds(a.get("lastAccessTime")), mtime);
    }

    private static String kind(int mode) {
        return switch (FileType.of(mode)) {
            case FileType.S_IFREG -> FsEntryInfo.FILE;
            case FileType.S_IFDIR -> FsEntryInfo.DIR;
            case FileType.S_IFLNK -> FsEntryInfo.SYMLINK;
            default -> FsEntryInfo.OTHER;
        };
    }

    private static long seconds(Object time) {
        return ((FileTime) time).toInstant().getEpochSecond();
    }
}
