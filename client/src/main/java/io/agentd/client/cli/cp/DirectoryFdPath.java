package io.agentd.client.cli.cp;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * {@code /proc/self/fd/N} for the descriptor a JDK {@link SecureDirectoryStream} holds its
 * directory by: a SecureDirectoryStream opens, renames and stats by name in its directory, but
 * has no mkdir, symlink or chmod of the whole mode (only the nine permission bits, where cp -a
 * keeps the sticky bit too). A path through /proc/self/fd/N leads to the open directory itself,
 * as the kernel resolves that link to the open file, not to a name looked up again
 * (io.agentd.client.fs.OpenFileKey reads a file channel's descriptor the same way). The number is
 * read through sun.misc.Unsafe from the JDK's sun.nio.fs.UnixSecureDirectoryStream; where that
 * layout is not this one, or /proc is not mounted, there is none (null), and those calls go by
 * the directory's path, as they did before directories were held open.
 */
final class DirectoryFdPath {
    private static final sun.misc.Unsafe UNSAFE;
    private static final Class<?> STREAM_CLASS;
    /** Offset of UnixSecureDirectoryStream.dfd (an int); -1: unknown. */
    private static final long DFD_OFFSET;

    static {
        sun.misc.Unsafe unsafe = null;
        Class<?> streamClass = null;
        long offset = -1;
        try {
            Field theUnsafe = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            theUnsafe.setAccessible(true);
            unsafe = (sun.misc.Unsafe) theUnsafe.get(null);
            streamClass = Class.forName("sun.nio.fs.UnixSecureDirectoryStream");
            Field dfd = streamClass.getDeclaredField("dfd");
            if (dfd.getType() == int.class) {
                offset = unsafe.objectFieldOffset(dfd);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            offset = -1;
        }
        UNSAFE = unsafe;
        STREAM_CLASS = streamClass;
        DFD_OFFSET = offset;
    }

    private DirectoryFdPath() {}

    /**
     * The path, checked to lead to the directory {@code stream} holds (the same device and inode as
     * its descriptor's fstat), or null.
     */
    static Path of(SecureDirectoryStream<Path> stream) {
        if (DFD_OFFSET < 0 || stream.getClass() != STREAM_CLASS) {
            return null;
        }
        Path fd = Path.of("/proc/self/fd/" + UNSAFE.getInt(stream, DFD_OFFSET));
        try {
            if (!Files.isSymbolicLink(fd)) { // no procfs: the name would be an ordinary, swappable one
                return null;
            }
            Object held = stream.getFileAttributeView(BasicFileAttributeView.class).readAttributes().fileKey();
            Object there = Files.readAttributes(fd, BasicFileAttributes.class).fileKey(); // follows the fd's link
            return held != null && held.equals(there) ? fd : null;
        } catch (IOException e) {
            return null;
        }
    }
}
