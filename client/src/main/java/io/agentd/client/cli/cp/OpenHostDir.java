package io.agentd.client.cli.cp;

import io.agentd.client.fs.DirectoryFdPath;
import io.agentd.client.fs.LocalFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * A host directory held open by a {@link SecureDirectoryStream} (on Linux the JDK's is openat
 * based): its subdirectories are opened in it with O_NOFOLLOW, a file is replaced in it by
 * openat and renameat, and the other calls by name go through {@code /proc/self/fd/N/NAME}
 * ({@link DirectoryFdPath}), which the kernel resolves to this directory itself, not by its path.
 */
final class OpenHostDir implements HostDir {
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    private final SecureDirectoryStream<Path> stream;
    private final Path path;
    /** /proc/self/fd/N of this directory, or null where that cannot be had (then {@link #entry} is by path). */
    private final Path byDescriptor;

    private OpenHostDir(SecureDirectoryStream<Path> stream, Path path) {
        this.stream = stream;
        this.path = path;
        this.byDescriptor = DirectoryFdPath.of(stream);
    }

    /**
     * {@code dir} opened by its path, links followed, or null where this JDK gives no
     * SecureDirectoryStream (then the caller writes by path, as agentctl did before).
     */
    static OpenHostDir open(Path dir) throws IOException {
        return open(dir, dir.toAbsolutePath());
    }

    /** The directory at {@code at}, shown as {@code shown}; null where this JDK gives no SecureDirectoryStream. */
    private static OpenHostDir open(Path at, Path shown) throws IOException {
        DirectoryStream<Path> s = Files.newDirectoryStream(at);
        if (s instanceof SecureDirectoryStream<Path> secure) {
            return new OpenHostDir(secure, shown);
        }
        s.close();
        return null;
    }

    /**
     * The directory at {@code dir}, a path reached by the caller's trusted way, opened as DIR/. (so
     * that a FIFO put there is ENOTDIR rather than waited on) and checked to be the one
     * {@code expected} was (lstat'ed at that path, not followed): a link swapped in between is
     * told by its device and inode. {@code shown} is its path as messages give it. Null where
     * this JDK has no SecureDirectoryStream.
     */
    static OpenHostDir openChecked(Path dir, Path shown, BasicFileAttributes expected) throws IOException {
        OpenHostDir open = open(dir.resolve("."), shown);
        return open == null ? null : open.checkedAgainst(expected);
    }

    /** This directory when it is the one {@code expected} was (device and inode); else closed, and a link swapped in. */
    private OpenHostDir checkedAgainst(BasicFileAttributes expected) throws IOException {
        if (!key().equals(expected.fileKey())) {
            close();
            throw replacedByALink(path);
        }
        return this;
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public Path entry(String name) {
        return (byDescriptor != null ? byDescriptor : path).resolve(EntryNames.entryName(name));
    }

    /**
     * Looked at first (not followed), so that a link put there is refused; then opened as
     * NAME/. (the JDK opens O_RDONLY without O_DIRECTORY, and a FIFO opened so waits for a writer:
     * "NAME/." is ENOTDIR for anything but a directory, and never waits) and checked to be the
     * directory looked at (a link swapped in between is followed by that open, and told by its
     * device and inode). One this process cannot read (a drop box, -wx) cannot be opened: it is
     * written in by name, through this directory's descriptor, as the operand is when unreadable
     * ({@link NamedHostDir}); GNU cp writes there too.
     */
    @Override
    public HostDir openChild(String name) throws IOException {
        Path child = Path.of(EntryNames.entryName(name));
        Path shown = path.resolve(name);
        BasicFileAttributes there = stream.getFileAttributeView(child, BasicFileAttributeView.class, NOFOLLOW)
                .readAttributes();
        if (there.isSymbolicLink()) {
            throw replacedByALink(shown);
        }
        if (!there.isDirectory()) {
            throw new NotDirectoryException(shown.toString());
        }
        SecureDirectoryStream<Path> opened;
        try {
            opened = stream.newDirectoryStream(child.resolve("."));
        } catch (AccessDeniedException unreadable) {
            return new NamedHostDir(entry(name), shown, true);
        } catch (FileSystemException e) {
            if (isLinkNow(child)) {
                throw replacedByALink(shown); // swapped for a link to no directory since the look
            }
            throw e;
        }
        return new OpenHostDir(opened, shown).checkedAgainst(there); // a link to another directory swapped in since the look
    }

    private boolean isLinkNow(Path child) {
        try {
            return stream.getFileAttributeView(child, BasicFileAttributeView.class, NOFOLLOW).readAttributes()
                    .isSymbolicLink();
        } catch (IOException gone) {
            return false;
        }
    }

    static FileSystemException replacedByALink(Path dir) {
        return new FileSystemException(dir.toString(), null,
                "it was replaced by a symbolic link while it was copied into (not followed)");
    }

    @Override
    public long replace(String name, Set<PosixFilePermission> permissions, InputStream in, LongConsumer progress)
            throws IOException {
        return LocalFiles.replace(stream, path, EntryNames.entryName(name), permissions, in, progress);
    }

    /** The directory's device and inode, by its descriptor. */
    private Object key() throws IOException {
        return stream.getFileAttributeView(BasicFileAttributeView.class).readAttributes().fileKey();
    }

    @Override
    public void close() {
        try {
            stream.close();
        } catch (IOException e) {
            // a directory's descriptor: closing it cannot lose anything written
        }
    }
}
