package io.agentd.client.fs;

import io.agentd.protocol.Utf8Text;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
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
     * Writes everything {@code in} holds to a temporary file beside {@code local} (writable by its
     * owner until written, then given {@code permissions}, less the umask), flushes it to disk and
     * renames it over {@code local}; a failure removes the temporary file and leaves {@code local}
     * as it was. Returns the bytes written.
     */
    public static long replace(Path local, Set<PosixFilePermission> permissions, InputStream in, LongConsumer progress)
            throws IOException {
        Path dir = local.toAbsolutePath().getParent();
        Path temp = IN_PROGRESS.create(dir, local.getFileName().toString(), permissions);
        long copied = 0;
        try {
            // Created with its final mode, less the umask; written with its owner's write bit, which
            // a read-only file's r--r--r-- would lack (the open below would then refuse anyone but root).
            Set<PosixFilePermission> last = Files.getPosixFilePermissions(temp);
            boolean readOnly = !last.contains(PosixFilePermission.OWNER_WRITE);
            if (readOnly) {
                Set<PosixFilePermission> open = EnumSet.noneOf(PosixFilePermission.class);
                open.addAll(last);
                open.add(PosixFilePermission.OWNER_WRITE);
                Files.setPosixFilePermissions(temp, open);
            }
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                copied = copy(in, out, progress, true);
                out.force(false);
            }
            if (readOnly) {
                Files.setPosixFilePermissions(temp, last);
            }
            Files.move(temp, local, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return copied;
        } finally {
            Files.deleteIfExists(temp);
            IN_PROGRESS.done(temp);
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
     * The temporary files being written, for the shutdown hook ({@link #removeAll}). A file is made
     * and listed in one step, under the lock the hook's removal takes, and once the hook ran none is
     * made: the JVM halts when its hooks are done, so a file made, or listed, after the hook looked
     * would stay (a download stopped by ^C just as it began its file).
     */
    static final class TempFiles {
        private final Set<Path> paths = new HashSet<>(); // guarded by this
        private boolean removed; // guarded by this

        synchronized Path create(Path dir, String name, Set<PosixFilePermission> perms) throws IOException {
            if (removed) {
                throw new IOException("not writing " + dir.resolve(name) + ": this JVM is exiting");
            }
            Path temp = createTemp(dir, name, perms);
            paths.add(temp);
            return temp;
        }

        synchronized void done(Path temp) {
            paths.remove(temp);
        }

        /** Removes every file still listed, and makes no more. */
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

    private static Path createTemp(Path dir, String name, Set<PosixFilePermission> perms) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path temp = dir.resolve(tempName(name,
                    Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffff_ffffL)));
            try {
                return Files.createFile(temp, PosixFilePermissions.asFileAttribute(perms));
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
