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
    private final Path path;
    /** Whether its subdirectories can be held open all the same (opened by path, then checked). */
    private final boolean handles;

    NamedHostDir(Path path, boolean handles) {
        this.path = path;
        this.handles = handles;
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public Path entry(String name) {
        return path.resolve(Copier.entryName(name));
    }

    /**
     * Where directories can be held open, the subdirectory is opened by its path and checked to be
     * the directory lstat found there, a link never ({@link OpenHostDir#openChecked}); this
     * directory's own path is the operand's, trusted as the user named it.
     */
    @Override
    public HostDir openChild(String name) throws IOException {
        Path child = entry(name);
        if (!handles) {
            return new NamedHostDir(child, false);
        }
        BasicFileAttributes there = Files.readAttributes(child, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (there.isSymbolicLink()) {
            throw OpenHostDir.replacedByALink(child);
        }
        if (!there.isDirectory()) {
            throw new NotDirectoryException(child.toString());
        }
        HostDir open = OpenHostDir.openChecked(child, there);
        return open != null ? open : new NamedHostDir(child, false);
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
