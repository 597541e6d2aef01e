package io.agentd.agent.fs;

import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Set;

/** A Copy of one file or link ({@link FsTrees#copy}, and each of a tree Copy's), made beside the destination and renamed onto it. */
final class FsFileCopy {
    /** Bytes a Copy reads and writes at a time. */
    private static final int COPY_CHUNK_BYTES = 64 * 1024;

    private FsFileCopy() {}

    /**
     * A file's bytes and permission bits (as std::fs::copy), a link as a link; anything else is
     * refused as OpenFile refuses it ({@link FsRegularFiles#open}: EINVAL "a FIFO, not a regular file: fs
     * opens regular files only"). The JDK's copy opened any source blocking and read it to its end:
     * a FIFO held a worker in open(2) for good, /dev/zero filled the disk. The bytes are read from
     * the very descriptor whose type was checked (O_NONBLOCK, its last name not followed), not from
     * a second open by name that a file swapped for a FIFO since would block again. A regular file
     * whose read would wait for data is refused (EAGAIN) before any read (WaitFreeFiles).
     * {@code from} and {@code to} are /proc/self/fd/N/NAME, relative to the directories the Copy
     * holds open (those above src and dst, or a tree walk's): the temporary file is made, renamed
     * over {@code to} and, failing, removed in {@code to}'s, whatever its path has come to lead to
     * since; {@code shownFrom} and {@code shownTo} are the paths the messages give.
     */
    static void copy(Path from, Path to, Path shownFrom, Path shownTo) throws IOException, FsFailure {
        if (Files.isDirectory(to, LinkOption.NOFOLLOW_LINKS)) {
            // Replacing below would rmdir an empty one (a file in place of a directory, its mode and
            // owner lost) and fail ENOTEMPTY on another: neither is a copy, as cp(1) and Rust's
            // fs::copy say.
            throw new FsFailure(FsFailure.EISDIR, "copy " + shownFrom + " to " + shownTo
                    + ": the destination is a directory, and the source is not (os error 21)");
        }
        if (Files.isSymbolicLink(from)) {
            // readlink(2), then unlink and symlink(2) at the last name of to: none follows a link there.
            Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING, LinkOption.NOFOLLOW_LINKS);
            return;
        }
        try (FileChannel source = FsRegularFiles.open(from, Set.of(StandardOpenOption.READ), null, "copy " + shownFrom, false)) {
            if (WaitFreeFiles.readWouldWait(source)) {
                throw WaitFreeFiles.wouldWait("copy " + shownFrom + " to " + shownTo);
            }
            Path opened = ChannelDescriptor.path(source);
            Path sourceFile = opened != null ? opened : from;
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(sourceFile);
            int mode = (Integer) Files.getAttribute(sourceFile, "unix:mode") & 07777;
            Path temp = null;
            try {
                // O_CREAT|O_EXCL with the source's permissions (under the umask): never more open than
                // the source meanwhile; beside the destination, which it replaces only once whole.
                FsTempNames.Created target = FsTempNames.create(to,
                        Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW),
                        PosixFilePermissions.asFileAttribute(permissions));
                temp = target.path();
                FsTrees.copyPause.run();
                try (FileChannel made = target.channel()) {
                    copyBytes(source, made, shownFrom, shownTo);
                    setMode(made, temp, withoutForeignSetIds(mode, sourceFile, made, temp));
                }
                // rename(2): a link or file at the destination is replaced, not followed, and a copy
                // that failed on the way (a full disk) left it as it was.
                Files.move(temp, to, StandardCopyOption.ATOMIC_MOVE);
                temp = null;
            } finally {
                if (temp != null) {
                    Files.deleteIfExists(temp);
                }
            }
        }
    }

    private static final ByteBuffer ZEROS = ByteBuffer.allocate(COPY_CHUNK_BYTES).asReadOnlyBuffer();

    /**
     * The source's bytes into {@code target}, a chunk that reads as zeros left a hole (as cp(1)
     * makes for a sparse file): a copy of a sparse file (a disk image, lastlog) took every block
     * of its size, and filled a disk the file itself fitted on.
     */
    private static void copyBytes(FileChannel source, FileChannel target, Path shownFrom, Path shownTo)
            throws IOException, FsFailure {
        ByteBuffer buffer = ByteBuffer.allocate(COPY_CHUNK_BYTES);
        long at = 0;
        for (int n; (n = source.read(buffer)) >= 0; buffer.clear()) {
            FsStop.check("copy " + shownFrom + " to " + shownTo);
            if (n == 0) { // O_NONBLOCK's EAGAIN: the file stopped having data (a kernel or FUSE stream)
                throw WaitFreeFiles.wouldWait("copy " + shownFrom + " to " + shownTo);
            }
            buffer.flip();
            if (buffer.mismatch(ZEROS.duplicate().limit(n)) < 0) {
                at += n;
                continue;
            }
            while (buffer.hasRemaining()) {
                at += target.write(buffer, at);
            }
        }
        if (target.size() < at) { // zeros at the end: the size without writing them
            int fd = ChannelDescriptor.fd(target);
            if (fd < 0) {
                target.write(ByteBuffer.allocate(1), at - 1);
            } else if (Os.libc().ftruncate(fd, at) != 0) {
                throw FsFailure.of(Os.errno(), "copy " + shownFrom + " to " + shownTo);
            }
        }
    }

    /**
     * {@code mode} less its set-user-id bit when the copy's owner is not the source's, and its
     * set-group-id bit when the copy's group is not: a copy made as root of a user's setuid program
     * was a setuid-root program with bytes the user chose (a review's). cp(1) drops them so too.
     */
    private static int withoutForeignSetIds(int mode, Path source, FileChannel made, Path temp) throws IOException {
        if ((mode & 06000) == 0) {
            return mode;
        }
        Path copy = ChannelDescriptor.path(made);
        Map<String, Object> from = Files.readAttributes(source, "unix:uid,gid");
        Map<String, Object> to = Files.readAttributes(copy != null ? copy : temp, "unix:uid,gid");
        if (!from.get("uid").equals(to.get("uid"))) {
            mode &= ~04000;
        }
        if (!from.get("gid").equals(to.get("gid"))) {
            mode &= ~02000;
        }
        return mode;
    }

    /**
     * Exactly the source's mode, set-id and sticky bits included (as std::fs::copy): on the file
     * made, not on whatever its name means now. Creation took the permission bits only, under the
     * umask.
     */
    private static void setMode(FileChannel made, Path temp, int mode) throws IOException, FsFailure {
        int fd = ChannelDescriptor.fd(made);
        if (fd < 0) {
            Files.setAttribute(temp, "unix:mode", mode);
        } else if (Os.libc().fchmod(fd, mode) != 0) {
            throw FsFailure.of(Os.errno(), "fchmod " + temp);
        }
    }
}
