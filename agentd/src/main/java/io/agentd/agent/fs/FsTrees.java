package io.agentd.agent.fs;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * The fs operations on whole trees, RemoveDir (recursive) and Copy, walked without following a link
 * anywhere below the paths the host named: each directory is opened relative to the one holding
 * it (O_DIRECTORY|O_NOFOLLOW|O_NONBLOCK through /proc/self/fd/N/NAME), its entries typed and
 * removed, read or made relative to it. A guest process can change a tree while the agent, as root,
 * walks it; by full path names, a directory swapped for a link to /etc sent deletes and writes there.
 */
final class FsTrees {
    /** Bytes a Copy reads and writes at a time. */
    private static final int COPY_CHUNK_BYTES = 64 * 1024;
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};
    /**
     * Test seam: runs on the worker each time a Copy has made something of the destination's (a
     * file's temporary file, a directory of a tree) and before it fills it.
     */
    static volatile Runnable copyPause = () -> {};

    private FsTrees() {}

    /**
     * rmdir of {@code p}; with {@code recursive}, what it holds first ({@link #emptyTree}). For a
     * request with a user, by its name in the directory above it opened without a magic link
     * ({@link NoMagicLinks#inItsDirectory}).
     */
    static void removeDir(Path p, FsPaths.DirectoryName slash, boolean recursive) throws FsFailure {
        NoMagicLinks.inItsDirectory(p, slash, "rmdir " + p, at -> {
            if (!Files.isDirectory(at, NOFOLLOW)) {
                throw FsFailure.of(Files.exists(at, NOFOLLOW) ? FsFailure.ENOTDIR : FsFailure.ENOENT, "rmdir " + p);
            }
            try {
                if (recursive) {
                    emptyTree(at, p);
                }
                Files.delete(at); // rmdir(2) never follows a link: a link put there since fails ENOTDIR
            } catch (IOException e) {
                throw FsErrors.from(e, "rmdir " + p);
            }
            return null;
        });
    }

    /**
     * How deep a recursive RemoveDir goes. Each level holds three descriptors while it is emptied
     * (the O_NOFOLLOW one below and the JDK's two for its directory stream), so at most 6,144, given
     * back as the walk climbs; the path-by-path walk it replaces held two a level and could not go
     * past PATH_MAX (4,096 bytes: 2,048 one-letter levels), failing ENAMETOOLONG as this does.
     */
    static final int REMOVE_DEPTH_MAX = 2048;

    /**
     * Removes everything inside directory {@code top}; links are removed, never followed. Each
     * directory is opened O_DIRECTORY|O_NOFOLLOW|O_NONBLOCK relative to the descriptor of the one
     * that holds it (/proc/self/fd/N/NAME), and its entries are read, typed and deleted relative to
     * its own descriptor (the JDK's SecureDirectoryStream: fstatat, unlinkat), never by a path from
     * the top. Deleting by full path re-resolved every name at every unlink: a guest process that
     * swapped {@code top/sub} for a link to /etc mid-walk made the agent, as root, delete /etc's
     * files. Now the walk goes on in the directory it holds open, and a name that became a link or a
     * file in between is removed as one. The JDK's own open of a child (openat O_NOFOLLOW without
     * O_DIRECTORY) is not used: a directory swapped for a FIFO would block the worker in open(2).
     */
    private static void emptyTree(Path top, Path shown) throws IOException, FsFailure {
        ArrayDeque<TreeLevel> levels = new ArrayDeque<>();
        try {
            TreeLevel first = TreeLevel.open(top.toString(), null, "rmdir " + shown);
            if (first == null) { // swapped for a link or a file since the check
                throw FsFailure.of(FsFailure.ENOTDIR, "rmdir " + shown);
            }
            levels.push(first);
            while (!levels.isEmpty()) {
                TreeLevel level = levels.peek();
                if (!level.entries.hasNext()) {
                    levels.pop().close();
                    if (!levels.isEmpty()) {
                        deleteEmptied(levels.peek().dir, level.name);
                    }
                    continue;
                }
                Path name = level.entries.next().getFileName();
                BasicFileAttributes attrs = level.dir.getFileAttributeView(name, BasicFileAttributeView.class, NOFOLLOW)
                        .readAttributes();
                if (!attrs.isDirectory()) {
                    level.dir.deleteFile(name); // unlinkat(2): a link itself, never its target
                    continue;
                }
                if (levels.size() >= REMOVE_DEPTH_MAX) {
                    throw new FsFailure(36, "rmdir " + shown + ": the tree is more than " + REMOVE_DEPTH_MAX
                            + " directories deep (os error 36)");
                }
                TreeLevel child = TreeLevel.open("/proc/self/fd/" + level.fd + "/" + name, name, "rmdir " + shown);
                if (child == null) {
                    level.dir.deleteFile(name); // no longer a directory: a link or a file now, removed as one
                } else {
                    levels.push(child);
                }
            }
        } catch (java.nio.file.DirectoryIteratorException e) {
            throw e.getCause();
        } finally {
            for (TreeLevel level : levels) {
                level.close();
            }
        }
    }

    /** rmdir of an emptied directory by its name in {@code parent}; a link or file put there since is removed as one. */
    private static void deleteEmptied(SecureDirectoryStream<Path> parent, Path name) throws IOException {
        try {
            parent.deleteDirectory(name);
        } catch (java.nio.file.FileSystemException e) {
            if (FsErrors.errno(e) != FsFailure.ENOTDIR) {
                throw e;
            }
            parent.deleteFile(name);
        }
    }

    /**
     * The one place a tree walk opens a directory: O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_NONBLOCK, so a
     * link at the last name of {@code path} is not followed and a FIFO or device there is not opened
     * (nor waited on). {@code path} is usually {@code /proc/self/fd/N/NAME}, NAME relative to the
     * directory the walk holds open as N. Returns the descriptor, or -1 when that is not a directory
     * (now): a link, a file, a FIFO (ENOTDIR, ELOOP).
     */
    static int openDirectory(String path, String what) throws FsFailure {
        int fd = NoMagicLinks.open(path, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NOFOLLOW
                | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (fd < 0) {
            int errno = Os.errno();
            if (errno == FsFailure.ENOTDIR || errno == FsFailure.ELOOP) {
                return -1;
            }
            throw NoMagicLinks.failure(errno, what);
        }
        return fd;
    }

    /**
     * The entries of the directory at {@code dir} (a link there followed, as opendir(3) does), each
     * named under {@code dir}. Not the JDK's newDirectoryStream of {@code dir}: it opens the path
     * O_RDONLY without O_DIRECTORY or O_NONBLOCK before it checks anything, so a FIFO there held the
     * worker in open(2) until a writer came (no close reaches it), and a device there was opened.
     * Here the directory is opened O_DIRECTORY|O_NONBLOCK (anything else is ENOTDIR, nothing waits
     * or is opened), and the JDK's stream reads that same directory through /proc/self/fd/N.
     */
    static DirectoryStream<Path> openDirectoryStream(Path dir, String what) throws FsFailure, IOException {
        return openDirectoryStream(dir, null, what);
    }

    /**
     * As {@link #openDirectoryStream(Path, String)}; a path that ends with / ({@code slash} not
     * null) is checked and opened in the directory above it, opened once
     * ({@link FsPaths.DirectoryName}).
     */
    static DirectoryStream<Path> openDirectoryStream(Path dir, FsPaths.DirectoryName slash, String what)
            throws FsFailure, IOException {
        int flags = LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NONBLOCK | LibC.O_CLOEXEC;
        int fd;
        if (slash == null) {
            fd = NoMagicLinks.open(dir.toString(), flags);
            if (fd < 0) {
                throw NoMagicLinks.failure(Os.errno(), what);
            }
        } else {
            try (NoMagicLinks.Above above = NoMagicLinks.Above.open(dir)) {
                if (!above.opened()) {
                    throw above.failure(what);
                }
                slash.check(above.name());
                fd = NoMagicLinks.open(above.name().toString(), flags);
                if (fd < 0) {
                    throw NoMagicLinks.failure(Os.errno(), what);
                }
            }
        }
        DirectoryStream<Path> stream;
        try {
            stream = Files.newDirectoryStream(Path.of("/proc/self/fd/" + fd));
        } finally {
            Os.libc().close(fd); // the stream holds a descriptor of its own on the directory
        }
        return new DirectoryStream<>() {
            @Override
            public Iterator<Path> iterator() {
                Iterator<Path> entries = stream.iterator();
                return new Iterator<>() {
                    @Override
                    public boolean hasNext() {
                        return entries.hasNext();
                    }

                    @Override
                    public Path next() {
                        return dir.resolve(entries.next().getFileName());
                    }
                };
            }

            @Override
            public void close() throws IOException {
                stream.close();
            }
        };
    }

    /** {@code name} in the directory open as descriptor {@code fd}, as a path the kernel resolves from that directory. */
    private static String at(int fd, Path name) {
        return "/proc/self/fd/" + fd + "/" + name;
    }

    /** One open directory of a tree walk: its O_NOFOLLOW descriptor and a stream on that same directory. */
    private static final class TreeLevel implements AutoCloseable {
        final int fd;
        final SecureDirectoryStream<Path> dir;
        final Iterator<Path> entries;
        /** Its name in the level above (null at the top). */
        final Path name;

        private TreeLevel(int fd, SecureDirectoryStream<Path> dir, Path name) {
            this.fd = fd;
            this.dir = dir;
            this.entries = dir.iterator();
            this.name = name;
        }

        /** The directory at {@code path}, its last name not followed; null when that is not a directory (now). */
        static TreeLevel open(String path, Path name, String what) throws IOException, FsFailure {
            int fd = openDirectory(path, what);
            if (fd < 0) {
                return null;
            }
            try {
                // /proc/self/fd/N is the open directory itself, whatever its name has come to mean.
                DirectoryStream<Path> stream = Files.newDirectoryStream(Path.of("/proc/self/fd/" + fd));
                if (stream instanceof SecureDirectoryStream<Path> secure) {
                    return new TreeLevel(fd, secure, name);
                }
                stream.close();
                throw new FsFailure(FsFailure.EIO, what
                        + ": this JDK has no SecureDirectoryStream to remove a tree without following links");
            } catch (IOException | FsFailure | RuntimeException e) {
                Os.libc().close(fd);
                throw e;
            }
        }

        @Override
        public void close() {
            try {
                dir.close();
            } catch (IOException ignored) {
                // a directory stream's close frees memory only
            }
            Os.libc().close(fd);
        }
    }

    /**
     * A file (its bytes and mode) or a directory tree (links copied as links, never followed), from
     * {@code from} to {@code to}: {@code src} and {@code dst} as their names in their directories,
     * each opened once, for a request with a user without a magic link (/proc/self/fd/N/NAME,
     * {@link NoMagicLinks#inTheirDirectoriesAlways}; "/" as itself), so that the destination's
     * temporary file is made, renamed and removed, and a tree's top directory made and opened, in
     * the one directory; the messages give {@code src} and {@code dst}.
     */
    static void copy(Path from, Path to, Path src, Path dst) throws FsFailure {
        try {
            if (!Files.isDirectory(from, NOFOLLOW)) {
                copyFile(from, to, src, dst);
                return;
            }
            if (inside(from, to)) {
                throw new FsFailure(FsFailure.EINVAL, "copy " + src + " to " + dst
                        + ": the destination is inside the source (os error 22)");
            }
            copyTree(from, to, src, dst);
        } catch (IOException e) {
            throw FsErrors.from(e, "copy " + src + " to " + dst);
        }
    }

    /**
     * How deep a tree Copy goes: each level holds four descriptors while it is copied (the source
     * directory's three, as a RemoveDir level, and the destination directory's one), so at most the
     * same 6,144 as a RemoveDir (and the two directories above src and dst); deeper is ENAMETOOLONG.
     */
    static final int COPY_DEPTH_MAX = 1536;

    /**
     * Copies directory {@code src} (at {@code srcAt}) into directory {@code dst} (at {@code dstAt};
     * created if missing; an existing directory is copied into) without following a link anywhere
     * below either. Both sides are walked relative to descriptors, never by a path from the top:
     * each source directory is opened
     * O_NOFOLLOW|O_DIRECTORY relative to the one holding it ({@link #openDirectory}), its entries
     * typed without following (fstatat) and read relative to it; each destination directory is made
     * by mkdir relative to the destination directory above it (mkdir never follows a link at its
     * last name: EEXIST) and then opened O_NOFOLLOW|O_DIRECTORY, and the files and links are made
     * in it relative to its descriptor. By full path, a guest process that swapped {@code dst/sub},
     * just created, for a link to /etc made the agent, as root, delete and replace /etc's files;
     * one that swapped {@code src/sub} for a link made it copy what the link names. Now the walk
     * goes on in the directories it holds open; a source directory that became a link or a file
     * before it was opened is copied as what it is now (a link as a link).
     */
    private static void copyTree(Path srcAt, Path dstAt, Path src, Path dst) throws IOException, FsFailure {
        String what = "copy " + src + " to " + dst;
        ArrayDeque<CopyLevel> levels = new ArrayDeque<>();
        try {
            TreeLevel top = TreeLevel.open(srcAt.toString(), null, what);
            if (top == null) { // swapped for a link or a file since the check
                throw FsFailure.of(FsFailure.ENOTDIR, what);
            }
            levels.push(CopyLevel.open(top, dstAt.toString(), src, dst, what));
            while (!levels.isEmpty()) {
                CopyLevel level = levels.peek();
                if (!level.from.entries.hasNext()) {
                    levels.pop().close();
                    continue;
                }
                Path name = level.from.entries.next().getFileName();
                Path shownFrom = level.shownFrom.resolve(name.toString());
                Path shownTo = level.shownTo.resolve(name.toString());
                Path from = Path.of(at(level.from.fd, name));
                Path to = Path.of(at(level.to, name));
                BasicFileAttributes attrs = level.from.dir.getFileAttributeView(name, BasicFileAttributeView.class,
                        NOFOLLOW).readAttributes();
                if (!attrs.isDirectory()) {
                    copyFile(from, to, shownFrom, shownTo);
                    continue;
                }
                if (levels.size() >= COPY_DEPTH_MAX) {
                    throw new FsFailure(36, what + ": the tree is more than " + COPY_DEPTH_MAX
                            + " directories deep (os error 36)");
                }
                TreeLevel child = TreeLevel.open(from.toString(), name, what);
                if (child == null) { // no longer a directory: a link or a file now, copied as one
                    copyFile(from, to, shownFrom, shownTo);
                    continue;
                }
                levels.push(CopyLevel.open(child, to.toString(), shownFrom, shownTo, what));
            }
        } catch (java.nio.file.DirectoryIteratorException e) {
            throw e.getCause();
        } finally {
            for (CopyLevel level : levels) {
                level.close();
            }
        }
    }

    /** One directory of a tree Copy: the source directory open (a {@link TreeLevel}) and the destination one's descriptor. */
    private static final class CopyLevel implements AutoCloseable {
        final TreeLevel from;
        final int to;
        /** The paths the messages give for the two (never read by). */
        final Path shownFrom;
        final Path shownTo;

        private CopyLevel(TreeLevel from, int to, Path shownFrom, Path shownTo) {
            this.from = from;
            this.to = to;
            this.shownFrom = shownFrom;
            this.shownTo = shownTo;
        }

        /**
         * {@code from} with the destination directory at {@code to} (a path, or /proc/self/fd/N/NAME):
         * made there unless a directory is there already, then opened without following a link; a
         * link or anything else there is EEXIST, as mkdir's. {@code from} is closed on failure.
         */
        static CopyLevel open(TreeLevel from, String to, Path shownFrom, Path shownTo, String what)
                throws IOException, FsFailure {
            try {
                try {
                    Files.createDirectory(Path.of(to)); // mkdir(2): a link at the last name is EEXIST, not followed
                } catch (FileAlreadyExistsException there) {
                    // a directory there is copied into; anything else is refused just below
                }
                copyPause.run();
                int fd = openDirectory(to, what);
                if (fd < 0) {
                    throw FsFailure.of(FsFailure.EEXIST, what);
                }
                return new CopyLevel(from, fd, shownFrom, shownTo);
            } catch (IOException | FsFailure | RuntimeException e) {
                from.close();
                throw e;
            }
        }

        @Override
        public void close() {
            from.close();
            Os.libc().close(to);
        }
    }

    /**
     * Whether {@code dst} is {@code src} or below it, on the file system, not in the text: each is
     * its name in the directory the Copy holds open for it (/proc/self/fd/N/NAME), and that
     * directory's path is the kernel's own for the descriptor (readlink of /proc/self/fd/N: the links
     * on the way, "." and ".." resolved when it was opened). A lexical check let "/w/./s/d" or a link
     * into /w/s through, and the walk then copied the tree into itself until ENAMETOOLONG, some 2,000
     * times over. NAME itself is not followed, nor looked up: a link at dst is EEXIST and one at src
     * is copied as a link whatever they name. Before, dst was looked up by path (its nearest existing
     * ancestor, then its real path): "exists" was the JDK's Files.exists, which asks access(2), which
     * checks the real uid, root's, and the real path followed a link at dst with a user's rights, so
     * a user's tree Copy to a link the user made into a directory the user cannot search answered
     * EACCES when the name there existed and EEXIST when it did not.
     */
    private static boolean inside(Path src, Path dst) throws IOException {
        return whereItIs(dst).startsWith(whereItIs(src));
    }

    private static final Path OWN_DESCRIPTORS = Path.of("/proc/self/fd");

    /**
     * The path of {@code at}, /proc/self/fd/N/NAME, as NAME in the directory N holds; any other (the
     * root, which has no directory above it) as it is.
     */
    private static Path whereItIs(Path at) throws IOException {
        Path dir = at.getParent();
        if (dir == null || at.getFileName() == null || !OWN_DESCRIPTORS.equals(dir.getParent())) {
            return at.normalize();
        }
        return Files.readSymbolicLink(dir).resolve(at.getFileName().toString()).normalize();
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
     * since; {@code shownFrom} and {@code shownTo} are the paths the messages give.
     */
    private static void copyFile(Path from, Path to, Path shownFrom, Path shownTo) throws IOException, FsFailure {
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
                copyPause.run();
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
     * Exactly the source's mode, set-id and sticky bits included (as std::fs::copy): on the file
     * made, not on whatever its name means now. Creation took the permission bits only, under the
     * umask.
     */
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

    private static void setMode(FileChannel made, Path temp, int mode) throws IOException, FsFailure {
        int fd = ChannelDescriptor.fd(made);
        if (fd < 0) {
            Files.setAttribute(temp, "unix:mode", mode);
        } else if (Os.libc().fchmod(fd, mode) != 0) {
            throw FsFailure.of(Os.errno(), "fchmod " + temp);
        }
    }
}
