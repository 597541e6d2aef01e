package io.agentd.agent.fs;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Iterator;

/**
 * One open handle: a file (a FileChannel) or a directory (a stream of its entries). Operations on
 * one handle run one at a time (callers hold its monitor); different handles run in parallel.
 */
abstract class FsHandle {
    final long handle;
    /** The request id that opened it: a relay client's id range closes the handles it opened. */
    final long openedBy;
    final Path path;
    private boolean closed;

    FsHandle(long handle, long openedBy, Path path) {
        this.handle = handle;
        this.openedBy = openedBy;
        this.path = path;
    }

    synchronized boolean isClosed() {
        return closed;
    }

    /** Closes it: for an atomic upload, {@code complete} says whether the destination is replaced. */
    final synchronized void close(boolean complete) throws FsFailure {
        if (closed) {
            return;
        }
        closed = true;
        release(complete);
    }

    abstract void release(boolean complete) throws FsFailure;

    /** An open file. */
    static final class File extends FsHandle {
        final FileChannel channel;
        final boolean readable;
        final boolean writable;
        /** Atomic upload: the temporary file the writes go to, renamed over {@link #path} at close; else null. */
        final Path temp;
        /** A write on it failed or was cut short: an atomic upload is then dropped at close. */
        private boolean spoiled;

        File(long handle, long openedBy, Path path, FileChannel channel, boolean readable, boolean writable, Path temp) {
            super(handle, openedBy, path);
            this.channel = channel;
            this.readable = readable;
            this.writable = writable;
            this.temp = temp;
        }

        synchronized void spoil() {
            spoiled = true;
        }

        synchronized boolean spoiled() {
            return spoiled;
        }

        @Override
        void release(boolean complete) throws FsFailure {
            if (temp == null) {
                try {
                    channel.close();
                } catch (IOException e) {
                    throw FsErrors.from(e, "close " + path);
                }
                return;
            }
            boolean replace = complete && !spoiled;
            try {
                if (replace) {
                    channel.force(true);
                }
                channel.close();
                if (replace) {
                    Files.move(temp, path, StandardCopyOption.ATOMIC_MOVE);
                    return;
                }
            } catch (IOException e) {
                deleteQuietly(temp);
                throw FsErrors.from(e, "atomic upload to " + path + " (left unchanged)");
            }
            deleteQuietly(temp);
            if (complete) {
                throw new FsFailure(FsFailure.EIO, "atomic upload to " + path
                        + ": a write on this handle failed, so the destination was left unchanged");
            }
        }

        private static void deleteQuietly(Path p) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // the temp name is ours alone; nothing else to do
            }
        }
    }

    /** An open directory, read by ReadDir in order. */
    static final class Dir extends FsHandle {
        private final DirectoryStream<Path> stream;
        final Iterator<Path> entries;

        Dir(long handle, long openedBy, Path path, DirectoryStream<Path> stream) {
            super(handle, openedBy, path);
            this.stream = stream;
            this.entries = stream.iterator();
        }

        @Override
        void release(boolean complete) throws FsFailure {
            try {
                stream.close();
            } catch (IOException e) {
                throw FsErrors.from(e, "close " + path);
            }
        }
    }
}
