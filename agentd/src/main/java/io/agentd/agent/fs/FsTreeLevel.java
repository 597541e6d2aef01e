package io.agentd.agent.fs;

import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.util.Iterator;

/** One open directory of a tree walk: its O_NOFOLLOW descriptor and a stream on that same directory. */
final class FsTreeLevel implements AutoCloseable {
    final int fd;
    final SecureDirectoryStream<Path> dir;
    final Iterator<Path> entries;
    /** Its name in the level above (null at the top). */
    final Path name;

    private FsTreeLevel(int fd, SecureDirectoryStream<Path> dir, Path name) {
        this.fd = fd;
        this.dir = dir;
        this.entries = dir.iterator();
        this.name = name;
    }

    /** The directory at {@code path}, its last name not followed; null when that is not a directory (now). */
    static FsTreeLevel open(String path, Path name, String what) throws IOException, FsFailure {
        int fd = FsTrees.openDirectory(path, what);
        if (fd < 0) {
            return null;
        }
        try {
            // /proc/self/fd/N is the open directory itself, whatever its name has come to mean.
            DirectoryStream<Path> stream = Files.newDirectoryStream(Path.of("/proc/self/fd/" + fd));
            if (stream instanceof SecureDirectoryStream<Path> secure) {
                return new FsTreeLevel(fd, secure, name);
            }
            stream.close();
            throw new FsFailure(FsFailure.EIO, what
                    + ": this JDK has no SecureDirectoryStream to walk a tree without following links");
        } catch (IOException | FsFailure | RuntimeException e) {
            Os.libc().close(fd);
            throw e;
        }
    }

    @Override
    public void close() {
        try {
            dir.close();
        } catch (IOException ignored) {
            // a directory stream's close frees memory only
        }
        Os.libc().close(fd);
    }
}
