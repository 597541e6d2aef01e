package io.agentd.agent.fs;

import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One open handle: a file (a FileChannel) or a directory (its descriptor and a stream of its entries). Operations on
 * one handle run one at a time on workers (they hold {@link #busy}); different handles run in
 * parallel. The loop thread never takes that lock: a worker may sit in a write to a FIFO that
 * nobody reads for as long as it likes. Closing never waits for it either ({@link #close},
 * {@link #abandon}): closing the channel wakes a worker blocked in it (AsynchronousCloseException),
 * so a close always ends the I/O in flight and gives its worker back.
 */
abstract class FsHandle {
    final long handle;
    /** The request id that opened it: a relay client's id range closes the handles it opened. */
    final long openedBy;
    final Path path;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Held by the operation running on the handle (its system calls), so operations run one at a time. */
    final ReentrantLock busy = new ReentrantLock();
    /**
     * Who holds the handle's descriptor open: 1 for the handle until it is released, plus each
     * operation using the descriptor's number now ({@link #holdDescriptor}). It is closed when this
     * reaches 0.
     */
    private final AtomicInteger descriptorHolders = new AtomicInteger(1);

    FsHandle(long handle, long openedBy, Path path) {
        this.handle = handle;
        this.openedBy = openedBy;
        this.path = path;
    }

    boolean isClosed() {
        return closed.get();
    }

    /**
     * CloseHandle (a worker). With no operation in progress it closes as asked (an atomic upload
     * replaces its destination here). With one in progress it does not wait for it (an atomic
     * upload's close waits a little: {@link File#lockedForClose}): a read from a FIFO nobody writes
     * would hold this worker, then the connection's end could not free either (the handle is out of
     * the table by then). It closes at once instead, which ends that I/O ({@link #cut}). A Write in progress counts even while it holds no lock (between the host's
     * chunks, or written and not answered yet): an atomic upload must not be renamed over its
     * destination with part of that Write's data.
     */
    final void close() throws FsFailure {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        // closed is set before the Writes are counted, and a Write counts itself before it reads
        // closed (File#writeStarted): either this sees the Write, or the Write sees the close.
        if (writeInProgress() || !lockedForClose()) {
            cut();
            return;
        }
        try {
            release(true);
        } finally {
            busy.unlock();
        }
    }

    /**
     * Whether {@link #close} may complete the handle: {@link #busy} taken, when no operation holds
     * it. An operation that does means I/O that may wait for good (a FIFO nobody reads), which the
     * close ends instead ({@link #cut}).
     */
    boolean lockedForClose() {
        return busy.tryLock();
    }

    /** The owner left or the handle was refused (any thread, no lock): an atomic upload is dropped. */
    final void abandon() throws FsFailure {
        if (closed.compareAndSet(false, true)) {
            release(false);
        }
    }

    abstract void release(boolean complete) throws FsFailure;

    /**
     * The descriptors the handle holds open, as the agent's {@link FsHandleBudget} counts them: one,
     * and an atomic upload's directory besides.
     */
    int descriptors() {
        return 1;
    }

    /** A Write has started on the handle and not ended (answered, failed or aborted). */
    boolean writeInProgress() {
        return false;
    }

    /** Closed while an operation was in progress on it (no lock): ends that operation's I/O. */
    void cut() throws FsFailure {
        release(false);
    }

    /**
     * /proc/self/fd/N of the descriptor the handle holds, where its metadata is read and set: the
     * file or directory it has open, whatever its path has come to name since (a guest user's link
     * put there: by the path, a root FSetStat chowned and chmodded where it pointed). Null when the
     * descriptor's number is unknown (or, for a test's handle, there is none).
     */
    Path descriptorPath() {
        return null;
    }

    /**
     * An operation is about to act on the handle's descriptor by its number
     * ({@link #descriptorPath}): until {@link #dropDescriptor}, the descriptor stays open, so N names
     * this handle's file or directory and no other. Closed then, the number could be any file the
     * agent opens next (another connection's OpenFile, a spawn's pipe), and a chmod, chown or utimes
     * would land there, as root for a request without {@code user}. False once the handle let its
     * descriptor go (closed meanwhile: the caller answers EBADF).
     *
     * <p>A close does not wait for the holder (no lock; an owner gone is closed on a thread of its
     * own, FsWorkers#closeAside): the last to let go closes the descriptor, the holder right after
     * its system calls, which do not block as reads and writes of a FIFO may. A read or write
     * blocked in a file's channel is then woken by that close, a few system calls later than
     * without the holder.
     */
    final boolean holdDescriptor() {
        for (int n = descriptorHolders.get(); n > 0; n = descriptorHolders.get()) {
            if (descriptorHolders.compareAndSet(n, n + 1)) {
                return true;
            }
        }
        return false;
    }

    /** The operation is done with the descriptor; the handle's close, if it came meanwhile, is done now. */
    final void dropDescriptor() {
        if (descriptorHolders.decrementAndGet() == 0) {
            try {
                closeDescriptor();
            } catch (IOException ignored) {
                // close(2) of a file or directory, its handle already closed and answered: no one to tell
            }
        }
    }

    /** The handle lets its descriptor go: closed now, or by the last operation still using it. */
    final void letDescriptorGo() throws IOException {
        if (descriptorHolders.decrementAndGet() == 0) {
            closeDescriptor();
        }
    }

    /** Closes the descriptor (and what reads through it), once nobody holds it; a test's handle may hold none. */
    void closeDescriptor() throws IOException {
    }

    /** An open file. */
    static final class File extends FsHandle {
        /** How long an atomic upload's close waits for an FSetStat or a Read's chunk under way ({@link #lockedForClose}). */
        static final long CLOSE_WAIT_MILLIS = 1000;

        final FileChannel channel;
        final boolean readable;
        final boolean writable;
        /**
         * A regular file: reads and writes go at their offsets (pread/pwrite). Anything else (a FIFO,
         * a character device) is read and written in sequence, and takes only offset 0.
         */
        final boolean seekable;
        /**
         * Atomic upload: the temporary file the writes go to, renamed over {@link #path} at close;
         * else null. Its name in {@link #directory}, /proc/self/fd/D/.NAME.agentd-XXXXXXXX.
         */
        final Path temp;
        /**
         * Atomic upload: the descriptor (O_PATH) of the directory its temporary file was made in,
         * where it is renamed or removed at close, whatever the directory's path has come to lead to
         * since (a guest user's link put in its place); closed then. -1 for none.
         */
        private final int directory;
        /** A write on it failed or was cut short: an atomic upload is then dropped at close. */
        private volatile boolean spoiled;
        /** Writes started on it and not ended yet ({@link #writeStarted}, {@link #writeEnded}). */
        private final AtomicInteger writes = new AtomicInteger();
        /** Opened with {@code append} (O_APPEND): a positional write goes to the end, so it cannot extend. */
        final boolean appending;

        File(long handle, long openedBy, Path path, FileChannel channel, boolean readable, boolean writable,
             boolean seekable, Path temp) {
            this(handle, openedBy, path, channel, readable, writable, seekable, temp, false, -1);
        }

        /** An atomic upload's: its temporary file {@code temp}, named in the directory {@code directory} holds. */
        File(long handle, long openedBy, Path path, FileChannel channel, boolean readable, boolean writable,
             boolean seekable, Path temp, int directory) {
            this(handle, openedBy, path, channel, readable, writable, seekable, temp, false, directory);
        }

        File(long handle, long openedBy, Path path, FileChannel channel, boolean readable, boolean writable,
             boolean seekable, Path temp, boolean appending) {
            this(handle, openedBy, path, channel, readable, writable, seekable, temp, appending, -1);
        }

        private File(long handle, long openedBy, Path path, FileChannel channel, boolean readable, boolean writable,
             boolean seekable, Path temp, boolean appending, int directory) {
            super(handle, openedBy, path);
            this.directory = directory;
            this.appending = appending;
            this.channel = channel;
            this.seekable = seekable;
            this.readable = readable;
            this.writable = writable;
            this.temp = temp;
        }

        /** Reads into {@code b} at {@code position} (in sequence when not seekable); -1 at the end. */
        int read(ByteBuffer b, long position) throws IOException {
            return seekable ? channel.read(b, position) : channel.read(b);
        }

        /** Writes from {@code b} at {@code position} (in sequence when not seekable). */
        int write(ByteBuffer b, long position) throws IOException {
            return seekable ? channel.write(b, position) : channel.write(b);
        }

        /** A non-seekable file takes only offset 0 (ESPIPE otherwise, as lseek says). */
        void checkOffset(long offset, String what) throws FsFailure {
            if (!seekable && offset != 0) {
                throw FsFailure.of(29, what + " at offset " + Long.toUnsignedString(offset) + " of " + path
                        + " (not a regular file: only offset 0)");
            }
        }

        void spoil() {
            spoiled = true;
        }

        /**
         * A Write starts on the handle (loop thread). False, and nothing counted, when the handle is
         * closed meanwhile. Until {@link #writeEnded}, a CloseHandle does not complete the handle: it
         * cuts it ({@link #cut}), so an atomic upload is dropped rather than renamed half written.
         */
        boolean writeStarted() {
            writes.incrementAndGet();
            if (isClosed()) {
                writes.decrementAndGet();
                return false;
            }
            return true;
        }

        /** The Write ended: answered with all its data in the file, or failed or aborted (spoiled first). */
        void writeEnded() {
            writes.decrementAndGet();
        }

        @Override
        boolean writeInProgress() {
            return writes.get() > 0;
        }

        /**
         * An atomic upload's close waits for the operation holding {@link #busy}, when no Write is in
         * progress (those are counted, and spoil it): an FSetStat, or a Read's one pread of the
         * temporary file, a regular file, neither of which waits on anything. It then renames the
         * upload complete, with the attributes set. It took such an operation for I/O it had to
         * cut: a host that sent FSetStat (mode, as cp -a does) and CloseHandle without waiting
         * between them lost a complete upload, told "closed while a Write ... was in progress"
         * (a review). At most {@link #CLOSE_WAIT_MILLIS}: one stuck on a hung mount is cut as
         * before, which closes the channel and frees both workers, rather than holding this one too.
         */
        @Override
        boolean lockedForClose() {
            if (temp == null) {
                return super.lockedForClose();
            }
            try {
                return busy.tryLock(CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }

        /** An atomic upload with a Write still going is not complete: dropped, and the CloseHandle says so. */
        @Override
        void cut() throws FsFailure {
            release(false);
            if (temp != null) {
                throw new FsFailure(FsFailure.EIO, "atomic upload to " + path + ": closed while a Write on"
                        + " the handle was still in progress, so the destination was left unchanged");
            }
        }

        boolean spoiled() {
            return spoiled;
        }

        @Override
        Path descriptorPath() {
            return ChannelDescriptor.path(channel);
        }

        @Override
        void closeDescriptor() throws IOException {
            channel.close();
        }

        @Override
        int descriptors() {
            return directory >= 0 ? 2 : 1;
        }

        @Override
        void release(boolean complete) throws FsFailure {
            if (temp == null) {
                try {
                    letDescriptorGo();
                } catch (IOException e) {
                    throw FsErrors.from(e, "close " + path);
                }
                return;
            }
            try {
                releaseUpload(complete);
            } finally {
                if (directory >= 0) {
                    Os.libc().close(directory);
                }
            }
        }

        /**
         * An atomic upload's end: renamed over its destination, or removed, by their names in the
         * directory the temporary file was made in ({@link #temp} is /proc/self/fd/D/NAME: the kernel
         * finds D by the descriptor, not by the path, which a guest user may have swapped for a link
         * to another directory since; by that path, a complete upload renamed a file of the
         * temporary name there over the destination's name there, and a dropped one was removed, as
         * root, from there).
         */
        private void releaseUpload(boolean complete) throws FsFailure {
            boolean replace = complete && !spoiled;
            try {
                try {
                    if (replace) {
                        channel.force(true);
                    }
                } finally {
                    letDescriptorGo(); // also when the fsync failed: the descriptor is not left open
                }
                if (replace) {
                    Files.move(temp, temp.resolveSibling(path.getFileName().toString()), StandardCopyOption.ATOMIC_MOVE);
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
        final FsOpenDirectory directory;

        Dir(long handle, long openedBy, FsOpenDirectory directory) {
            super(handle, openedBy, directory.path);
            this.directory = directory;
        }

        @Override
        Path descriptorPath() {
            return directory.opened();
        }

        @Override
        void closeDescriptor() throws IOException {
            directory.close();
        }

        /** Its own descriptor, and the one the JDK's stream of its entries reads through. */
        @Override
        int descriptors() {
            return 2;
        }

        @Override
        void release(boolean complete) throws FsFailure {
            try {
                letDescriptorGo();
            } catch (IOException e) {
                throw FsErrors.from(e, "close " + path);
            }
        }
    }
}
