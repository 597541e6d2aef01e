package io.agentd.client.fs;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.util.EnumSet;
import java.util.Set;

/**
 * The directory {@link LocalFiles#replace} makes its temporary file in and renames it over the
 * destination in, by entry name: either looked up by the directory's path on each call, or in a
 * directory held open ({@link SecureDirectoryStream}: openat, renameat), which a link put on the
 * way to it since it was opened does not redirect.
 */
interface ReplaceDir {
    /** The directory's path, absolute: what messages show, and what the shutdown hook removes a temporary file by. */
    Path path();

    /** A new file {@code name}, open for writing: O_CREAT|O_EXCL, which never follows a link. */
    FileChannel createNew(String name, FileAttribute<?> permissions) throws IOException;

    /** Renames {@code from} over {@code to} in one step (rename(2)), replacing what {@code to} named. */
    void rename(String from, String to) throws IOException;

    /** The attributes of {@code name} itself, a link as a link. */
    BasicFileAttributes lstat(String name) throws IOException;

    /** Removes {@code name} if there is one (a link there is removed, never followed). */
    void deleteIfExists(String name) throws IOException;

    /** Looked up by its path, links on the way to it followed (the guest's files' downloads, {@link GuestFiles#download}). */
    static ReplaceDir byPath(Path dir) {
        return new ByPath(dir.toAbsolutePath());
    }

    /** The directory {@code dir} holds open; {@code path} is where it was when opened, for messages. */
    static ReplaceDir held(SecureDirectoryStream<Path> dir, Path path) {
        return new Held(dir, path.toAbsolutePath());
    }

    record ByPath(Path path) implements ReplaceDir {
        @Override
        public FileChannel createNew(String name, FileAttribute<?> permissions) throws IOException {
            return FileChannel.open(path.resolve(name), EnumSet.of(StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE), permissions);
        }

        @Override
        public void rename(String from, String to) throws IOException {
            Files.move(path.resolve(from), path.resolve(to), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        }

        @Override
        public BasicFileAttributes lstat(String name) throws IOException {
            return Files.readAttributes(path.resolve(name), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        }

        @Override
        public void deleteIfExists(String name) throws IOException {
            Files.deleteIfExists(path.resolve(name));
        }
    }

    record Held(SecureDirectoryStream<Path> dir, Path path) implements ReplaceDir {
        @Override
        public FileChannel createNew(String name, FileAttribute<?> permissions) throws IOException {
            SeekableByteChannel channel = dir.newByteChannel(Path.of(name), Set.of(StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), permissions);
            if (channel instanceof FileChannel file) {
                return file;
            }
            channel.close(); // not this JDK's (a FileChannel): it could not be flushed to disk
            dir.deleteFile(Path.of(name));
            throw new IOException("not writing " + path.resolve(name) + ": this JDK's directory handle does not"
                    + " open a FileChannel");
        }

        @Override
        public void rename(String from, String to) throws IOException {
            dir.move(Path.of(from), dir, Path.of(to)); // renameat, in the directory held open
        }

        @Override
        public BasicFileAttributes lstat(String name) throws IOException {
            return dir.getFileAttributeView(Path.of(name), BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .readAttributes();
        }

        /** As Files.deleteIfExists: an empty directory there is removed too. */
        @Override
        public void deleteIfExists(String name) throws IOException {
            try {
                if (lstat(name).isDirectory()) {
                    dir.deleteDirectory(Path.of(name));
                } else {
                    dir.deleteFile(Path.of(name));
                }
            } catch (NoSuchFileException gone) {
                // nothing there
            }
        }
    }
}
