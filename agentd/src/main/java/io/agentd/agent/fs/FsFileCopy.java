package io.agentd.agent.fs;

import io.agentd.agent.sys.Os;
import java.io.IOException;
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

/**
 * A Copy of one file or link ({@link FsTrees#copy}, and each of a tree Copy's), made beside the
 * destination and renamed onto it: begun ({@link #begin}), its bytes copied a slice at a time
 * ({@link FsCopiedBytes}), then its mode set and the rename; closed unfinished, the temporary file
 * is removed.
 */
final class FsFileCopy implements FsSlicedWork.Steps {
    private final FileChannel source;
    /** The temporary file, open for writing; its name is {@link #temp} until renamed onto {@link #to}. */
    private final FileChannel made;
    private Path temp;
    private final Path to;
    /** The source as it is open (/proc/self/fd/N), for its mode and owner. */
    private final Path sourceFile;
    private final int mode;
    private final FsCopiedBytes bytes;

    private FsFileCopy(FileChannel source, FileChannel made, Path temp, Path to, Path sourceFile, int mode,
            String what) {
        this.source = source;
        this.made = made;
        this.temp = temp;
        this.to = to;
        this.sourceFile = sourceFile;
        this.mode = mode;
        this.bytes = new FsCopiedBytes(source, made, what);
    }

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
     * since; {@code shownFrom} and {@code shownTo} are the paths the messages give. Null when
     * nothing is left to do (a link, copied here); else the file's copy, its temporary file made.
     */
    static FsFileCopy begin(Path from, Path to, Path shownFrom, Path shownTo) throws IOException, FsFailure {
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
            return null;
        }
        String what = "copy " + shownFrom + " to " + shownTo;
        FileChannel source = FsRegularFiles.open(from, Set.of(StandardOpenOption.READ), null, "copy " + shownFrom, false);
        try {
            if (WaitFreeFiles.readWouldWait(source)) {
                throw WaitFreeFiles.wouldWait(what);
            }
            Path opened = ChannelDescriptor.path(source);
            Path sourceFile = opened != null ? opened : from;
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(sourceFile);
            int mode = (Integer) Files.getAttribute(sourceFile, "unix:mode") & 07777;
            // O_CREAT|O_EXCL with the source's permissions (under the umask): never more open than
            // the source meanwhile; beside the destination, which it replaces only once whole.
            FsTempNames.Created target = FsTempNames.create(to,
                    Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW),
                    PosixFilePermissions.asFileAttribute(permissions));
            FsFileCopy copy = new FsFileCopy(source, target.channel(), target.path(), to, sourceFile, mode, what);
            FsTrees.copyPause.run();
            return copy; // from here its close closes the source and removes the temporary file
        } catch (IOException | FsFailure | RuntimeException e) {
            closeQuietly(source);
            throw e;
        }
    }

    /** Its bytes, a slice at a time; once all are copied, its mode and the rename onto the destination. */
    @Override
    public boolean goOn(FsSlice slice) throws IOException, FsFailure {
        if (!bytes.copy(slice)) {
            return false;
        }
        setMode(made, temp, withoutForeignSetIds(mode, sourceFile, made, temp));
        made.close();
        // rename(2): a link or file at the destination is replaced, not followed, and a copy
        // that failed on the way (a full disk) left it as it was.
        Files.move(temp, to, StandardCopyOption.ATOMIC_MOVE);
        temp = null;
        return true;
    }

    /** Closes both files; the temporary one, when it was not renamed onto the destination, is removed. */
    @Override
    public void close() {
        closeQuietly(made);
        closeQuietly(source);
        if (temp != null) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException e) {
                // left beside the destination, under a temporary name (FsTempNames), as a crash leaves one
            }
            temp = null;
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        } catch (IOException e) {
            // a close after which nothing of the file is read or written: its errors say nothing of the copy
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
