package io.agentd.agent.fs;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.FsSetAttrs;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * SetStat's and FSetStat's attributes, checked before any is applied: one that cannot be set must
 * fail the request with nothing changed (an answer that says "failed" after the mode was applied
 * would be a lie), and never as an internal error; then applied ({@link #apply}, {@link #resize}).
 * A request's mode as the permissions a new file or directory gets is here too ({@link #permissions}).
 */
final class FsAttrs {
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};
    private static final LinkOption[] FOLLOW = {};

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

    /**
     * Applies attributes {@link #check} accepted, in this order: size, owner, mode, times.
     *
     * @param shown the name the messages give (a handle's path, when {@code p} is its /proc/self/fd/N)
     */
    static void apply(Path p, Path shown, boolean follow, FsSetAttrs a) throws FsFailure {
        LinkOption[] links = follow ? FOLLOW : NOFOLLOW;
        try {
            if (a.size() != null) {
                // Without follow a link has no size to set: refused, as OpenFile refuses one it may not follow.
                try (FileChannel ch = FsRegularFiles.open(p, Set.of(StandardOpenOption.WRITE), null, "truncate " + shown,
                        follow)) {
                    resize(ch, a.size(), shown, true);
                }
            }
            if (a.uid() != null || a.gid() != null) {
                // chown(2)/lchown(2) with -1 for the id left alone.
                if (a.uid() != null) {
                    Files.setAttribute(p, "unix:uid", a.uid().intValue(), links);
                }
                if (a.gid() != null) {
                    Files.setAttribute(p, "unix:gid", a.gid().intValue(), links);
                }
            }
            if (a.mode() != null) {
                setMode(p, shown, follow, a.mode().intValue() & 07777);
            }
            if (a.atime() != null || a.mtime() != null) {
                setTimes(p, shown, follow, a.atime(), a.mtime());
            }
        } catch (IOException e) {
            throw FsErrors.from(e, "setstat " + shown);
        } catch (UnsupportedOperationException e) {
            throw new FsFailure(95, "setstat " + shown + ": " + e.getMessage() + " (os error 95)");
        }
    }

    /**
     * chmod(2), or without following a link fchmodat(2) with AT_SYMLINK_NOFOLLOW (a link itself is
     * EOPNOTSUPP: Linux has no mode for links). Not the JDK's no-follow setter: it opens the file
     * O_RDONLY|O_NOFOLLOW for fchmod, which held the worker in open(2) on a FIFO until a writer came,
     * opened a device, and failed EACCES for an owner without read permission, who may chmod.
     */
    private static void setMode(Path p, Path shown, boolean follow, int mode) throws FsFailure {
        int flags = follow ? 0 : LibC.AT_SYMLINK_NOFOLLOW;
        if (Os.libc().fchmodat(LibC.AT_FDCWD, Os.cString(p.toString()), mode, flags) != 0) {
            throw FsFailure.of(Os.errno(), "setstat " + shown);
        }
    }

    /**
     * utimensat(2) on the path (a handle's /proc/self/fd/N included), each null time UTIME_OMIT.
     * Not the JDK's setTimes: following links, it opens the file O_RDONLY for futimens, which fails
     * EACCES for an owner without read permission, so the times after a chmod to 000 or 0200 (as
     * {@code cp -a -u USER} sets them) or on a file that already has such a mode failed, though the
     * kernel lets the owner set them.
     */
    private static void setTimes(Path p, Path shown, boolean follow, Long atime, Long mtime) throws FsFailure {
        long[] times = {
            atime == null ? 0 : atime, atime == null ? LibC.UTIME_OMIT : 0,
            mtime == null ? 0 : mtime, mtime == null ? LibC.UTIME_OMIT : 0,
        };
        int flags = follow ? 0 : LibC.AT_SYMLINK_NOFOLLOW;
        if (Os.libc().utimensat(LibC.AT_FDCWD, Os.cString(p.toString()), times, flags) != 0) {
            throw FsFailure.of(Os.errno(), "setstat " + shown);
        }
    }

    /**
     * Sets the file's size through the channel's descriptor: FileChannel.truncate shrinks,
     * ftruncate(2) extends ({@link #extend}), whether or not the handle appends. A handle not opened
     * for writing is EBADF, as ftruncate's own answer (EINVAL) would not say why.
     */
    static void resize(FileChannel ch, long size, Path p, boolean writable) throws FsFailure {
        if (size < 0) {
            throw FsFailure.of(FsFailure.EFBIG, "truncate " + p);
        }
        if (!writable) {
            throw new FsFailure(FsFailure.EBADF, "truncate " + p + ": the handle was not opened for writing: Bad file descriptor (os error 9)");
        }
        try {
            long now = ch.size();
            if (size < now) {
                ch.truncate(size);
            } else if (size > now) {
                extend(ch, size, p);
            }
        } catch (IOException e) {
            throw FsErrors.from(e, "truncate " + p);
        } catch (java.nio.channels.NonWritableChannelException e) {
            throw FsErrors.from(e, "truncate " + p);
        }
    }

    /**
     * ftruncate(2) on the channel's descriptor, as the kernel extends a file: with a hole. A write of
     * one zero byte at the new end, as before, took a block a full disk did not have (ENOSPC where
     * truncate(1) succeeds) and replaced a last byte another process wrote between size() and it.
     */
    private static void extend(FileChannel ch, long size, Path p) throws FsFailure {
        int fd = ChannelDescriptor.fd(ch);
        if (fd < 0) {
            throw new FsFailure(FsFailure.EIO, "truncate " + p + ": the file's descriptor is unknown on this JDK (os error 5)");
        }
        if (Os.libc().ftruncate(fd, size) != 0) {
            throw FsFailure.of(Os.errno(), "truncate " + p);
        }
    }

    /** A request's mode (its low nine bits) as the permissions a file or directory is made with. */
    static FileAttribute<Set<PosixFilePermission>> permissions(long mode) {
        StringBuilder s = new StringBuilder(9);
        String letters = "rwxrwxrwx";
        for (int bit = 8; bit >= 0; bit--) {
            s.append((mode & (1L << bit)) != 0 ? letters.charAt(8 - bit) : '-');
        }
        return PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(s.toString()));
    }
}
