package io.agentd.agent.fs;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;

/** A host's directory opened for its entries (ListDir, ReadDir's OpenDir): never a FIFO or device waited on or opened. */
final class FsDirectoryStreams {
    private FsDirectoryStreams() {}

    /**
     * The entries of the directory at {@code dir} (a link there followed, as opendir(3) does), each
     * named under {@code dir}. Not the JDK's newDirectoryStream of {@code dir}: it opens the path
     * O_RDONLY without O_DIRECTORY or O_NONBLOCK before it checks anything, so a FIFO there held the
     * worker in open(2) until a writer came (no close reaches it), and a device there was opened.
     * Here the directory is opened O_DIRECTORY|O_NONBLOCK (anything else is ENOTDIR, nothing waits
     * or is opened), and the JDK's stream reads that same directory through /proc/self/fd/N. A path
     * that ends with / ({@code slash} not null) is checked and opened in the directory above it,
     * opened once ({@link FsPaths.DirectoryName}).
     */
    static DirectoryStream<Path> open(Path dir, FsPaths.DirectoryName slash, String what)
            throws FsFailure, IOException {
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
        DirectoryStream<Path> stream;
        try {
            stream = Files.newDirectoryStream(Path.of("/proc/self/fd/" + fd));
        } finally {
            Os.libc().close(fd); // the stream holds a descriptor of its own on the directory
        }
        return new DirectoryStream<>() {
            @Override
            public Iterator<Path> iterator() {
                Iterator<Path> entries = stream.iterator();
                return new Iterator<>() {
                    @Override
                    public boolean hasNext() {
                        return entries.hasNext();
                    }

                    @Override
                    public Path next() {
                        return dir.resolve(entries.next().getFileName());
                    }
                };
            }

            @Override
            public void close() throws IOException {
                stream.close();
            }
        };
    }
}
