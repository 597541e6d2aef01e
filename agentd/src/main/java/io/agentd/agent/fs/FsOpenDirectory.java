package io.agentd.agent.fs;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.FsEntryInfo;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;

/**
 * A host's directory held open (ListDir while it answers, OpenDir's handle until it closes): its
 * descriptor, and its entries read through it. Never a FIFO or device waited on or opened: not the
 * JDK's newDirectoryStream of the host's path, which opens it O_RDONLY without O_DIRECTORY or
 * O_NONBLOCK before it checks anything, so a FIFO there held the worker in open(2) until a writer
 * came (no close reaches it), and a device there was opened. Here the directory is opened
 * O_DIRECTORY|O_NONBLOCK (anything else is ENOTDIR, nothing waits or is opened), a link at the
 * path followed as opendir(3) does, and kept open; the JDK's stream reads that same directory
 * through /proc/self/fd/N (a descriptor of its own). A path that ends with / ({@code slash} not
 * null) is checked and opened in the directory above it, opened once ({@link FsPaths.DirectoryName}).
 *
 * <p>Each entry is looked at inside the directory opened (/proc/self/fd/N/NAME, a link at NAME not
 * followed), never by the host's path again, which names it only in the answer: a guest user who
 * renamed that directory after the open, or put a link in its place, had the names stat'ed
 * elsewhere (none found, an empty answer that reads as the directory's end; or another directory's
 * sizes and owners; for a request with a user, a link there to /proc/self/fd/M followed into a
 * directory of the agent's). The directory's own metadata is read and set through N too
 * ({@link #opened}).
 */
final class FsOpenDirectory implements Closeable {
    /** The host's path: what the answers and messages name. */
    final Path path;
    private final int fd;
    private final Path opened;
    private final DirectoryStream<Path> stream;
    private final Iterator<Path> names;

    private FsOpenDirectory(Path path, int fd, DirectoryStream<Path> stream) {
        this.path = path;
        this.fd = fd;
        this.opened = Path.of("/proc/self/fd/" + fd);
        this.stream = stream;
        this.names = stream.iterator();
    }

    /** Opens the directory at {@code dir} as the class comment says; {@code what} names the operation in failures. */
    static FsOpenDirectory open(Path dir, FsPaths.DirectoryName slash, String what) throws FsFailure, IOException {
        int flags = LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NONBLOCK | LibC.O_CLOEXEC;
        int fd;
        if (slash == null) {
            fd = NoMagicLinks.open(dir.toString(), flags);
            if (fd < 0) {
                throw NoMagicLinks.failure(Os.errno(), what);
            }
        } else {
            try (NoMagicLinks.Above above = NoMagicLinks.Above.open(dir)) {
                if (!above.opened()) {
                    throw above.failure(what);
                }
                slash.check(above.name());
                fd = NoMagicLinks.open(above.name().toString(), flags);
                if (fd < 0) {
                    throw NoMagicLinks.failure(Os.errno(), what);
                }
            }
        }
        try {
            return new FsOpenDirectory(dir, fd, Files.newDirectoryStream(Path.of("/proc/self/fd/" + fd)));
        } catch (IOException | RuntimeException e) {
            Os.libc().close(fd);
            throw e;
        }
    }

    /** /proc/self/fd/N: the directory opened, whatever its path has come to name since. */
    Path opened() {
        return opened;
    }

    /** Whether entries are left to read ({@link java.nio.file.DirectoryIteratorException} on a failed readdir). */
    boolean hasNext() {
        return names.hasNext();
    }

    /**
     * The next entry: named under the host's path, its metadata read inside the directory opened
     * (lstat); null when it was removed between readdir and that lstat (left out, as ls does).
     */
    FsEntryInfo nextEntry() throws FsFailure {
        Path name = names.next().getFileName();
        try {
            return FsEntries.stat(opened.resolve(name), path.resolve(name), false);
        } catch (FsFailure f) {
            if (f.errno() == FsFailure.ENOENT) {
                return null;
            }
            throw f;
        }
    }

    /** Closes the stream, then the descriptor (also when the stream's close failed). */
    @Override
    public void close() throws IOException {
        try {
            stream.close();
        } finally {
            Os.libc().close(fd);
        }
    }
}
