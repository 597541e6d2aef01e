package io.agentd.client.fs;

import io.agentd.protocol.Utf8Text;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * Local files written the way a download writes them: whole, or not at all (also when the JVM is
 * stopped by a signal midway: a shutdown hook removes the temporary files still being written).
 */
public final class LocalFiles {
    private static final int COPY_BUFFER_BYTES = 64 * 1024;
    private static final byte[] ZEROS = new byte[COPY_BUFFER_BYTES];
    /** The longest file name Linux takes, in bytes. */
    private static final int NAME_MAX = 255;
    /** Temporary files being written now: removed at JVM exit too (agentctl cp stopped by ^C). */
    private static final TempFiles IN_PROGRESS = new TempFiles();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(IN_PROGRESS::removeAll, "agentd-client-temp-cleanup"));
    }

    private LocalFiles() {}

    /**
     * Writes everything {@code in} holds to a temporary file beside {@code local} (created with
     * {@code permissions}, less the umask), flushes it to disk and renames it over {@code local}; a
     * failure removes the temporary file and leaves {@code local} as it was. Returns the bytes written.
     */
    public static long replace(Path local, Set<PosixFilePermission> permissions, InputStream in, LongConsumer progress)
            throws IOException {
        return replace(local, permissions, in, progress, temp -> {});
    }

    /**
     * {@link #replace(Path, Set, InputStream, LongConsumer)} for the entry {@code name} of the
     * directory {@code dir} holds open ({@code dirPath}: where it was when opened, for messages):
     * the temporary file is made, renamed and checked in that directory itself (openat, renameat),
     * so a link put on the way to it since it was opened (a guest's shared folder, or another user
     * who can write a directory above it, swapping one for a link) does not take the file elsewhere.
     */
    public static long replace(SecureDirectoryStream<Path> dir, Path dirPath, String name,
            Set<PosixFilePermission> permissions, InputStream in, LongConsumer progress) throws IOException {
        return replace(ReplaceDir.held(dir, dirPath), name, dirPath.resolve(name), permissions, in, progress,
                temp -> {});
    }

    /**
     * {@link #replace(Path, Set, InputStream, LongConsumer)}, with {@code afterCreate} run on the
     * temporary file's name once it is made and before a byte is written: tests put another file
     * there, as another user who can write the directory could.
     */
    static long replace(Path local, Set<PosixFilePermission> permissions, InputStream in, LongConsumer progress,
            Consumer<Path> afterCreate) throws IOException {
        return replace(ReplaceDir.byPath(local.toAbsolutePath().getParent()), local.getFileName().toString(), local,
                permissions, in, progress, afterCreate);
    }

    /**
     * Replaces {@code name} in {@code dir} ({@code local} names it in messages).
     *
     * <p>The temporary file is made, written and flushed through the one descriptor that created it
     * (O_CREAT|O_EXCL: a link already at the name fails the open, it is never followed), and its
     * name is not stat'ed, chmod'ed or opened again: in a directory another user can write (0777,
     * not sticky) that user can put a link to any file at the name at any moment, and root's
     * download, which opened and chmod'ed the name after making it, wrote the guest's bytes into
     * the file the link named. Its mode is final from the start: the open applies
     * {@code permissions} less the umask, which is the mode this method promises, and a descriptor
     * an open made by creating the file writes it whatever that mode is (r--r--r-- included), so
     * nothing is left to set by name or by descriptor. The rename is by name, though: what it moves
     * may be another file put at the temporary name, so {@code name} is checked after it to be the
     * file written, by its device and inode (an error otherwise, the bytes never having left this
     * copy's file).
     */
    private static long replace(ReplaceDir dir, String name, Path local, Set<PosixFilePermission> permissions,
            InputStream in, LongConsumer progress, Consumer<Path> afterCreate) throws IOException {
        TempFile temp = IN_PROGRESS.create(dir, name, permissions);
        try (FileChannel out = temp.channel()) {
            afterCreate.accept(temp.path());
            long copied = copy(in, out, progress, true);
            out.force(false);
            Object written = OpenFileKey.of(out);
            dir.rename(temp.name(), name);
            checkLanded(dir.lstat(name), local, written, temp.path());
            return copied;
        } finally {
            dir.deleteIfExists(temp.name()); // a link there is removed, never followed
            IN_PROGRESS.done(temp.path());
        }
    }

    /**
     * {@code landed}, what {@code local} names after the rename, is the file this copy wrote
     * ({@code written}: its key, or null when this JDK cannot tell it; then a regular file at least).
     */
    private static void checkLanded(BasicFileAttributes landed, Path local, Object written, Path temp)
            throws IOException {
        if (!landed.isRegularFile() || (written != null && !written.equals(landed.fileKey()))) {
            throw new FileSystemException(local.toString(), null, "another file was put at the temporary name "
                    + temp.getFileName() + " while it was written (another user can write " + temp.getParent()
                    + ") and was renamed in its place");
        }
    }

    /**
     * Writes everything {@code in} holds into the file {@code local} names, links followed, in place
     * (opened for writing and truncated, never created or replaced): what cp(1) does with a device
     * or a FIFO, which a temporary file renamed over the name would replace. Not flushed to disk: a
     * device or FIFO may refuse fsync. Returns the bytes written.
     */
    public static long writeInto(Path local, InputStream in, LongConsumer progress) throws IOException {
        try (FileChannel out = FileChannel.open(local, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            return copy(in, out, progress, false); // a device or FIFO cannot seek
        }
    }

    /**
     * Copies {@code in} to {@code out}. With {@code holes} (a new file only), a run of zeros the stream
     * hands over at once (64 KiB at most) is skipped rather than written, as cp --sparse=auto does: a
     * guest's 2 GB sparse file took 2 GB of the host's disk, and one a guest truncated to 100 TB filled
     * it before the copy failed. Data keeps its blocks.
     */
    private static long copy(InputStream in, FileChannel out, LongConsumer progress, boolean holes) throws IOException {
        byte[] buffer = new byte[COPY_BUFFER_BYTES];
        long copied = 0;
        int n;
        while ((n = in.read(buffer)) >= 0) {
            if (holes && Arrays.mismatch(buffer, 0, n, ZEROS, 0, n) < 0) {
                out.position(out.position() + n); // nothing written: a hole, read back as zeros
            } else {
                ByteBuffer b = ByteBuffer.wrap(buffer, 0, n);
                while (b.hasRemaining()) {
                    out.write(b);
                }
            }
            copied += n;
            if (progress != null) {
                progress.accept(n);
            }
        }
        if (holes && out.size() < copied) { // ends in a hole: the file still has the whole length
            out.write(ByteBuffer.wrap(new byte[1]), copied - 1);
        }
        return copied;
    }

    /**
     * A temporary file just made: its path (for the shutdown hook), its name in its directory, and
     * the open descriptor that made it, for writing.
     */
    record TempFile(Path path, String name, FileChannel channel) {}

    /**
     * The temporary files being written, for the shutdown hook ({@link #removeAll}). A file is made
     * and listed in one step, under the lock the hook's removal takes, and once the hook ran none is
     * made: the JVM halts when its hooks are done, so a file made, or listed, after the hook looked
     * would stay (a download stopped by ^C just as it began its file).
     */
    static final class TempFiles {
        private final Set<Path> paths = new HashSet<>(); // guarded by this
        private boolean removed; // guarded by this

        synchronized TempFile create(ReplaceDir dir, String name, Set<PosixFilePermission> perms) throws IOException {
            if (removed) {
                throw new IOException("not writing " + dir.path().resolve(name) + ": this JVM is exiting");
            }
            TempFile temp = createTemp(dir, name, perms);
            paths.add(temp.path());
            return temp;
        }

        synchronized void done(Path temp) {
            paths.remove(temp);
        }

        /**
         * Removes every file still listed, and makes no more. By path: the directory a download held
         * open may be closed by now; a link put on that path since at worst makes this miss the file
         * (its random name is this copy's, so nothing else is removed in its place).
         */
        synchronized void removeAll() {
            removed = true;
            for (Path p : paths) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // exiting: nothing more to do
                }
            }
            paths.clear();
        }
    }

    /** A new file at an unused name, open for writing: CREATE_NEW is O_EXCL, which never follows a link. */
    private static TempFile createTemp(ReplaceDir dir, String name, Set<PosixFilePermission> perms) throws IOException {
        for (int attempt = 0; ; attempt++) {
            String temp = tempName(name, Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffff_ffffL));
            try {
                FileChannel channel = dir.createNew(temp, PosixFilePermissions.asFileAttribute(perms));
                return new TempFile(dir.path().resolve(temp), temp, channel);
            } catch (FileAlreadyExistsException clash) {
                if (attempt == 8) {
                    throw clash;
                }
            }
        }
    }

    /**
     * ".NAME.agentctl-SUFFIX", NAME cut (on a character boundary) so that the whole stays within
     * NAME_MAX, 255 bytes: a file named with 240 bytes must still be downloadable.
     */
    static String tempName(String name, String suffix) {
        String tail = ".agentctl-" + suffix;
        int room = NAME_MAX - 1 - tail.getBytes(StandardCharsets.UTF_8).length;
        return "." + Utf8Text.prefix(name, room) + tail;
    }
}
