package io.agentd.client.cli.cp;

import io.agentd.client.fs.GuestFiles;
import io.agentd.client.fs.LocalFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * The host's files, through java.nio.file. As a destination, below the operand every entry is
 * reached through the directory it is in, held open ({@link HostDirs}), never by a path looked up
 * again: a directory swapped for a link while the copy is in it (by the guest through a shared
 * folder, or by another user who can write the destination) does not take the rest elsewhere.
 */
final class HostTree implements SourceTree, DestTree {
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    /** The destination's directories a download is writing in (none as a source, or before a copy begins). */
    private final HostDirs dirs = new HostDirs();

    @Override
    public String show(String path) {
        return path;
    }

    @Override
    public Entry lstat(String path) throws IOException {
        if (path.isEmpty()) {
            // Path.of("") is the working directory: an operand "" (an unset variable) would copy all
            // of it. cp(1) says "cannot stat ''".
            throw new NoSuchFileException(path);
        }
        if (TrailingSlashes.nameADirectory(path)) {
            // Path.of drops the slash: "f/" was the file f, "link/" the link, not the directory it names
            Entry named = entry(Path.of(path), new LinkOption[0]);
            if (!named.isDir()) {
                throw new NotDirectoryException(path);
            }
            return named;
        }
        return entry(Path.of(path), NOFOLLOW);
    }

    @Override
    public Entry stat(String path) throws IOException {
        return entryOrNull(path, new LinkOption[0]);
    }

    @Override
    public Entry lstatIfAny(String path) throws IOException {
        try {
            return entry(destination(path), NOFOLLOW);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private static Entry entryOrNull(String path, LinkOption[] links) throws IOException {
        try {
            return entry(Path.of(path), links);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /**
     * {@code path} for the JDK's calls by name: in the destination directory held open it is an
     * entry of ({@link HostDir#entry}), or as it is at the operand's own level, before a copy has
     * opened any (as a source too).
     */
    private Path destination(String path) {
        HostDirs.Located at = dirs.locate(path);
        return at == null ? Path.of(path) : at.entry();
    }

    @Override
    public Held openParentOf(String target) throws IOException {
        Path parent = Path.of(target).toAbsolutePath().getParent();
        if (parent == null) { // "/": nothing to write in
            return NOTHING_HELD;
        }
        try {
            return dirs.openOperand(parent);
        } catch (IOException e) {
            throw CopyFailure.of("cannot access", parent.toString(), e);
        }
    }

    @Override
    public Held enter(String dir, boolean operand) throws IOException {
        try {
            return operand ? dirs.openOperand(Path.of(dir)) : dirs.openChild(dir);
        } catch (IOException e) {
            throw CopyFailure.of("cannot access", dir, e);
        }
    }

    private static Entry entry(Path p, LinkOption[] links) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:mode,size,lastModifiedTime,lastAccessTime", links);
        int mode = (Integer) a.get("mode");
        Entry.Kind kind = switch (mode & 0170000) {
            case 0100000 -> Entry.Kind.FILE;
            case 0040000 -> Entry.Kind.DIR;
            case 0120000 -> Entry.Kind.LINK;
            default -> Entry.Kind.OTHER;
        };
        return new Entry(kind, (Long) a.get("size"), mode & 07777,
                seconds((FileTime) a.get("lastModifiedTime")), seconds((FileTime) a.get("lastAccessTime")));
    }

    /** Whole Unix seconds, rounded down as stat(2)'s tv_sec is (a time before 1970 too: -0.3 s is -1). */
    static long seconds(FileTime t) {
        return Math.floorDiv(t.toMillis(), 1000);
    }

    @Override
    public List<String> names(String dir) throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(Path.of(dir))) {
            for (Path p : s) {
                names.add(p.getFileName().toString());
            }
        }
        return names;
    }

    @Override
    public String readLink(String path) throws IOException {
        return Files.readSymbolicLink(Path.of(path)).toString();
    }

    @Override
    public InputStream open(String path) throws IOException {
        return Files.newInputStream(Path.of(path));
    }

    /**
     * @throws InvalidPathException the name cannot be a host file name in the JVM's file name charset
     *     (ASCII without a UTF-8 locale): Java refuses some such names and replaces characters of
     *     others with '?', which would copy "café.txt" to "caf?.txt"
     * @throws IllegalArgumentException the name is not one entry's ({@link EntryNames#entryName})
     */
    @Override
    public String child(String dir, String name) {
        Path child = Path.of(dir).resolve(EntryNames.entryName(name));
        Path last = child.getFileName();
        if (last == null || !last.toString().equals(name)) {
            throw new InvalidPathException(name, "cannot be encoded as a file name");
        }
        return child.toString();
    }

    @Override
    public String parent(String path) {
        Path parent = Path.of(path).toAbsolutePath().normalize().getParent();
        return parent == null ? "/" : parent.toString();
    }

    @Override
    public String name(String path) {
        Path name = Path.of(path).getFileName();
        return name == null ? "" : name.toString();
    }

    /** In the directory held open: mkdir through its descriptor ({@link HostDir#entry}). */
    @Override
    public void mkdir(String path, Entry source) throws IOException {
        try {
            Files.createDirectory(destination(path),
                    java.nio.file.attribute.PosixFilePermissions.asFileAttribute(GuestFiles.permissionsOf(source.mode())));
        } catch (IOException e) {
            throw CopyFailure.of("cannot create directory", path, e);
        }
    }

    @Override
    public void writeFile(String path, Entry source, boolean keep, InputStream in, LongConsumer progress)
            throws IOException {
        Path p = destination(path);
        if (Files.isDirectory(p, NOFOLLOW)) {
            throw new CopyFailure("cannot overwrite directory", path, "Is a directory");
        }
        Entry here = lstatIfAny(path);
        if (here != null && here.kind() == Entry.Kind.OTHER) {
            // Below the operand the name is the guest's: writing into a host FIFO or device it names
            // (cp -r :/x/. / with dev/initctl) would feed whatever reads it, or block for ever;
            // renaming a file over it replaced the host's device. Only the operand is written into.
            throw new CopyFailure("cannot overwrite", path, "a FIFO or device is written into only when it is the"
                    + " destination named on the command line");
        }
        try {
            HostDirs.Located at = dirs.locate(path);
            if (at == null) {
                LocalFiles.replace(p, GuestFiles.permissionsOf(source.mode()), in, progress);
            } else {
                at.dir().replace(at.name(), GuestFiles.permissionsOf(source.mode()), in, progress);
            }
        } catch (java.nio.file.AccessDeniedException | NoSuchFileException | java.nio.file.NotDirectoryException e) {
            throw CopyFailure.of("cannot create regular file", path, e); // the file could not be made
        } catch (IOException e) {
            throw CopyFailure.of("error writing", path, e);
        }
        if (keep) {
            try {
                keepAttributes(path, source);
            } catch (CopyFailure f) {
                throw f.itemWritten();
            }
        }
    }

    /**
     * The destination operand the user named is a device or FIFO, or a link. A device or FIFO, or a
     * link to one (cp :/x /dev/null, cp :/x /dev/stdout): written into, as cp(1) does; renaming the
     * download over it made /dev/null a regular file of the guest's bytes. A link to a file, or
     * dangling: replaced by the file, as a tar extraction and docker cp do (docs/AGENTCTL.md,
     * "agentctl cp"). Below the operand neither happens (writeFile, Copier). Looked at and written
     * into by its path, as the user named it.
     */
    @Override
    public void writeIntoOperand(String path, Entry source, boolean keep, InputStream in, LongConsumer progress)
            throws IOException {
        Entry followed = stat(path);
        if (followed != null && followed.kind() == Entry.Kind.OTHER) {
            writeInto(path, in, progress);
        } else {
            writeFile(path, source, keep, in, progress);
        }
    }

    private static void writeInto(String path, InputStream in, LongConsumer progress) throws IOException {
        try {
            LocalFiles.writeInto(Path.of(path), in, progress);
        } catch (java.nio.file.AccessDeniedException | NoSuchFileException e) {
            throw CopyFailure.of("cannot open", path, e);
        } catch (IOException e) {
            throw CopyFailure.of("error writing", path, e);
        }
    }

    @Override
    public void symlink(String target, String path, Entry link) throws IOException {
        Path p = destination(path);
        try {
            if (Files.exists(p, NOFOLLOW) && !Files.isDirectory(p, NOFOLLOW)) {
                Files.delete(p);
            }
            Files.createSymbolicLink(p, Path.of(target));
        } catch (IOException e) {
            throw CopyFailure.of("cannot create symbolic link", path, e);
        }
    }

    @Override
    public void chmod(String path, long mode) throws IOException {
        try {
            Files.setAttribute(destination(path), "unix:mode", (int) (mode & 07777), NOFOLLOW);
        } catch (IOException e) {
            throw CopyFailure.of("setting permissions of", path, e);
        }
    }

    /** With {@code -a}, the guest's mode without its set-id bits ({@link Entry#modeWithoutSetId}), and its times. */
    @Override
    public void keepAttributes(String path, Entry source) throws IOException {
        keepAttributes(destination(path), path, source);
    }

    /**
     * The directory a link at the operand points to gets them (cp -a SRC/. LINK): its real path, a
     * link no more (the operand is closed by then: Copier has left it).
     */
    @Override
    public void keepOperandAttributes(String path, Entry source) throws IOException {
        Path real;
        try {
            real = Path.of(path).toRealPath();
        } catch (IOException e) {
            throw CopyFailure.of("preserving permissions for", path, e);
        }
        keepAttributes(real, path, source);
    }

    private static void keepAttributes(Path p, String path, Entry source) throws IOException {
        int mode = source.modeWithoutSetId();
        // The JDK sets times through an O_RDONLY open (futimens): for an owner who is not root that
        // fails on a file or directory without u+r (0200, 0300, 000), so the times are set while it
        // has u+r, and the mode exactly last (a chmod leaves the times alone).
        int whileTimesAreSet = mode | 0400;
        setMode(p, whileTimesAreSet, path);
        IOException timesFailure = null;
        if (!KeptTimes.settable(source)) {
            timesFailure = KeptTimes.notSettable(path, source);
        } else {
            try {
                Files.getFileAttributeView(p, BasicFileAttributeView.class, NOFOLLOW)
                        .setTimes(GuestFiles.time(source.mtime()), GuestFiles.time(source.atime()), null);
            } catch (IOException e) {
                timesFailure = CopyFailure.of("preserving times for", path, e);
            }
        }
        if (whileTimesAreSet != mode) {
            setMode(p, mode, path);
        }
        if (timesFailure != null) {
            throw timesFailure;
        }
    }

    /**
     * The mode of a file or directory this copy made, never through a link: in a directory another
     * user may write, that user could put a link at the name once it was renamed into place, and a
     * chmod by name then followed it (root's cp -a made any file it named world-writable, say). The
     * JDK's NOFOLLOW opens the entry O_RDONLY|O_NOFOLLOW for fchmod, which a link refuses (ELOOP);
     * an owner who is not root is refused it for a file without u+r, and then has it by name, a
     * link checked for first: through a link that owner could change only its own files' modes.
     */
    private static void setMode(Path p, int mode, String shown) throws IOException {
        try {
            Files.setAttribute(p, "unix:mode", mode, NOFOLLOW);
        } catch (java.nio.file.AccessDeniedException noReadRight) {
            if (Files.isSymbolicLink(p)) {
                throw CopyFailure.of("preserving permissions for", shown, noReadRight);
            }
            try {
                Files.setAttribute(p, "unix:mode", mode);
            } catch (IOException e) {
                throw CopyFailure.of("preserving permissions for", shown, e);
            }
        } catch (IOException e) {
            throw CopyFailure.of("preserving permissions for", shown, e);
        }
    }
}
