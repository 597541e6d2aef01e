package io.agentd.client.cli.cp;

import io.agentd.client.fs.LocalFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * A host directory written in by its path, each call looking it up again: the destination operand
 * this process cannot read (a drop box, -wx: it can be written in but not opened), or any
 * directory on a platform whose JDK has no SecureDirectoryStream, where this is how agentctl has
 * always written (a directory swapped for a link there is followed: nothing on such a platform
 * can stop that).
 */
final class NamedHostDir implements HostDir {
    /** The path its entries are named by: its own, or through the descriptor of the directory it is in. */
    private final Path byName;
    /** Its path, as messages give it. */
    private final Path path;
    /** Whether its subdirectories can be held open all the same (opened by path, then checked). */
    private final boolean handles;

    NamedHostDir(Path path, boolean handles) {
        this(path, path, handles);
    }

    /** One named {@code byName} (/proc/self/fd/N/NAME of an {@link OpenHostDir}'s entry), shown as {@code path}. */
    NamedHostDir(Path byName, Path path, boolean handles) {
        this.byName = byName;
        this.path = path;
        this.handles = handles;
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public Path entry(String name) {
        return byName.resolve(EntryNames.entryName(name));
    }

    /**
     * Where directories can be held open, the subdirectory is opened by its path and checked to be
     * the directory lstat found there, a link never ({@link OpenHostDir#openChecked}); this
     * directory's own path is the operand's, trusted as the user named it.
     */
    @Override
    public HostDir openChild(String name) throws IOException {
        Path child = entry(name);
        Path shown = path.resolve(name);
        if (!handles) {
            return new NamedHostDir(child, shown, false);
        }
        BasicFileAttributes there = Files.readAttributes(child, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (there.isSymbolicLink()) {
            throw OpenHostDir.replacedByALink(shown);
        }
        if (!there.isDirectory()) {
            throw new NotDirectoryException(shown.toString());
        }
        try {
            HostDir open = OpenHostDir.openChecked(child, shown, there);
            return open != null ? open : new NamedHostDir(child, shown, false);
        } catch (java.nio.file.AccessDeniedException unreadable) {
            return new NamedHostDir(child, shown, true); // another drop box: written in by name, as this one
        }
    }

    @Override
    public long replace(String name, Set<PosixFilePermission> permissions, InputStream in, LongConsumer progress)
            throws IOException {
        return LocalFiles.replace(entry(name), permissions, in, progress);
    }

    @Override
    public void close() {
        // nothing held
    }
}
