package io.agentd.client.fs;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The identity (device and inode, as {@link BasicFileAttributes#fileKey} gives them) of the file a
 * {@link FileChannel} has open, found through the channel's own descriptor, never through a name:
 * {@link LocalFiles#replace} checks with it that the name it renamed over the destination was its
 * own file, not one another user put in its place. The JDK has no fstat on a channel, so the file
 * is stat'ed as /proc/self/fd/N ({@link ProcFd}). That path cannot be redirected: /proc/self is
 * this process, fd N is held open by the channel for the whole call, and the kernel resolves the
 * link to the open file itself (its target is not looked up again as a path), even once its name
 * is gone. Where the descriptor cannot be named so, the identity is unknown (null).
 */
final class OpenFileKey {
    private OpenFileKey() {}

    /** The open file's key, or null when it cannot be known here. */
    static Object of(FileChannel channel) throws IOException {
        Path self = ProcFd.path(ProcFd.of(channel));
        if (self == null) {
            return null;
        }
        return Files.readAttributes(self, BasicFileAttributes.class).fileKey(); // follows the fd's link
    }
}
