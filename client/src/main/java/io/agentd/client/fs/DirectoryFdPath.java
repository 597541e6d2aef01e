package io.agentd.client.fs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * {@code /proc/self/fd/N} for the descriptor a JDK {@link SecureDirectoryStream} holds its
 * directory by ({@link ProcFd}): a SecureDirectoryStream opens, renames and stats by name in its
 * directory, but has no mkdir, symlink or chmod of the whole mode (only the nine permission bits,
 * where cp -a keeps the sticky bit too). A path through /proc/self/fd/N leads to the open directory
 * itself, not to a name looked up again. Where there is none (null), those calls go by the
 * directory's path, as they did before directories were held open (a download's walk:
 * io.agentd.client.cli.cp.OpenHostDir).
 */
public final class DirectoryFdPath {
    private DirectoryFdPath() {}

    /**
     * The path, checked to lead to the directory {@code stream} holds (the same device and inode as
     * its descriptor's fstat), or null.
     */
    public static Path of(SecureDirectoryStream<Path> stream) {
        Path fd = ProcFd.path(ProcFd.of(stream));
        if (fd == null) {
            return null;
        }
        try {
            Object held = stream.getFileAttributeView(BasicFileAttributeView.class).readAttributes().fileKey();
            Object there = Files.readAttributes(fd, BasicFileAttributes.class).fileKey(); // follows the fd's link
            return held != null && held.equals(there) ? fd : null;
        } catch (IOException e) {
            return null;
        }
    }
}
