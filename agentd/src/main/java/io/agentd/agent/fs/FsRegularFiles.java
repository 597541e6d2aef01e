package io.agentd.agent.fs;

import io.agentd.agent.sys.FileType;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.util.HashSet;
import java.util.Set;

/**
 * Opens a file by name for an OpenFile in place, a SetStat of size and a Copy's source: regular
 * files only, the type read from the file opened, never from a look before the open ({@link #open}).
 */
final class FsRegularFiles {
    /**
     * Test seam: runs on the worker once an open with create found no file at a name (the O_PATH
     * open said ENOENT) and before it creates one there O_EXCL.
     */
    static volatile Runnable createPause = () -> {};

    private FsRegularFiles() {}

    /**
     * Opens {@code path} (links followed) with {@code opts} if it is a regular file, and refuses
     * anything else with EINVAL saying what it is (EISDIR for a directory): open(2) of a FIFO with no
     * peer blocks a worker in the kernel where no close can reach it, a FIFO's or a device's read can
     * hold it for good, and opening a device may act on it. The type is read from the file itself,
     * not from a check before the open: an O_PATH descriptor names the file without opening it (no
     * FIFO wait, no device open), fstat-like {@code stat} of /proc/self/fd/N reads its type, and the
     * real open goes through that same /proc/self/fd/N, so the file that is opened is the file that
     * was checked even if a guest process swaps the name meanwhile. A file that does not exist yet is
     * created O_EXCL (a new file is regular); a name that appears between the two is tried again.
     * A link to a name that does not exist is followed, its target created O_EXCL, as open(2)
     * with O_CREAT creates it.
     */
    static FileChannel open(Path path, Set<? extends OpenOption> opts, FileAttribute<?> perms, String what)
            throws FsFailure, IOException {
        return open(path, opts, perms, what, true);
    }

    /** As above; without {@code followLinks} a link at {@code path} is refused (EINVAL, "a symbolic link"), not followed. */
    static FileChannel open(Path path, Set<? extends OpenOption> opts, FileAttribute<?> perms, String what,
            boolean followLinks) throws FsFailure, IOException {
        if (opts.contains(StandardOpenOption.CREATE_NEW)) {
            // O_CREAT|O_EXCL never opens an existing file (nor follows a link): what it opens is new.
            // A directory there (or a link to one) is EISDIR, as it is without create_new: looked
            // at in the directory the open acted in.
            return WaitFreeFiles.neverWait(NoMagicLinks.inItsDirectory(path, what, at -> {
                try {
                    return perms == null ? FileChannel.open(at, opts) : FileChannel.open(at, opts, perms);
                } catch (java.nio.file.FileAlreadyExistsException there) {
                    throw NoMagicLinks.isDirectory(at) ? FsFailure.of(FsFailure.EISDIR, what) : FsErrors.from(there, what);
                } catch (IOException e) {
                    throw FsErrors.from(e, what);
                }
            }));
        }
        Set<OpenOption> existing = new HashSet<>(opts);
        existing.remove(StandardOpenOption.CREATE);
        int linksFollowed = 0;
        Path at = path; // a dangling link's target once it is followed
        for (int attempt = 0; ; attempt++) {
            int fd = NoMagicLinks.open(at.toString(), LibC.O_PATH | LibC.O_CLOEXEC
                    | (followLinks ? 0 : LibC.O_NOFOLLOW));
            if (fd < 0) {
                int errno = Os.errno();
                if (errno != FsFailure.ENOENT || !opts.contains(StandardOpenOption.CREATE) || attempt == 4) {
                    throw NoMagicLinks.failure(errno, what);
                }
                Set<OpenOption> create = new HashSet<>(existing);
                create.add(StandardOpenOption.CREATE_NEW);
                createPause.run();
                // A link whose target does not exist: open(2) with O_CREAT (Rust's create, the
                // reference's) makes the target, which O_EXCL refuses; so the target is made here,
                // O_EXCL still, by its own name (/etc/resolv.conf to a resolver's file that is not
                // there). Else something was made there since: the next attempt sees what it is.
                // The name is looked at in the directory the create acted in.
                Made made = NoMagicLinks.inItsDirectory(at, what, name -> {
                    try {
                        return new Made(perms == null ? FileChannel.open(name, create)
                                : FileChannel.open(name, create, perms), null);
                    } catch (java.nio.file.FileAlreadyExistsException appeared) {
                        return new Made(null, danglingTarget(name, followLinks));
                    }
                });
                if (made.channel() != null) {
                    return WaitFreeFiles.neverWait(made.channel());
                }
                if (made.linkTarget() != null) {
                    if (++linksFollowed > MAX_LINKS_FOLLOWED) {
                        throw FsFailure.of(FsFailure.ELOOP, what);
                    }
                    // A relative target is relative to the link's directory, as the kernel reads it.
                    Path dir = at.getParent();
                    at = dir == null ? made.linkTarget() : dir.resolve(made.linkTarget());
                    if (FsCredentials.actingAsUser() && NoMagicLinks.namesOwnDescriptor(made.linkTarget())) {
                        // The link's target is a guest user's text, never one of the fs code's own
                        // paths, which NoMagicLinks.open would open relative to the agent's
                        // descriptor N: a user who put a link to /proc/self/fd/N/NAME there after
                        // the open found nothing had the file made in a directory the agent held
                        // open (another host's OpenDir), one the user could not reach. The kernel
                        // refuses such a link to a request with a user (RESOLVE_NO_MAGICLINKS).
                        throw NoMagicLinks.failure(FsFailure.ELOOP, what);
                    }
                    attempt--; // a link followed is no failed attempt
                }
                continue;
            }
            try {
                Path self = Path.of("/proc/self/fd/" + fd);
                int mode = (Integer) Files.getAttribute(self, "unix:mode");
                int type = FileType.of(mode);
                if (type == FileType.S_IFDIR) {
                    throw FsFailure.of(FsFailure.EISDIR, what);
                }
                if (type != FileType.S_IFREG) {
                    throw notARegularFile(what, mode);
                }
                return WaitFreeFiles.neverWait(FileChannel.open(self, existing));
            } finally {
                Os.libc().close(fd);
            }
        }
    }

    /** The refusal of a FIFO, socket or device (any file but a regular one) where fs opens a file. */
    static FsFailure notARegularFile(String what, int mode) {
        return new FsFailure(FsFailure.EINVAL, what + ": " + FileType.describe(mode)
                + ", not a regular file: fs opens regular files only (os error 22)");
    }

    /** Past this many links followed to a target that does not exist, the open fails ELOOP, as the kernel's does at 40. */
    private static final int MAX_LINKS_FOLLOWED = 40;

    /** An O_EXCL create's outcome: the file it made, or, when it found a name there, that link's target if it names nothing. */
    private record Made(FileChannel channel, Path linkTarget) {}

    /**
     * The target of the link at {@code name}, as stored, when it names nothing (and links are
     * followed); else null. {@code name} is the name in the directory the create acted in
     * (/proc/self/fd/P/NAME for a request with a user), so it is looked at there, with the
     * request's rights: lstat and readlink of the name, and "names nothing" is an open of it
     * (O_PATH, for a user without a magic link) that says ENOENT. Before, it was looked at by host
     * path, so through a magic link above the name for a user, and "names nothing" was the JDK's
     * Files.exists, which asks access(2): the real uid's view, root's, following any link.
     */
    private static Path danglingTarget(Path name, boolean followLinks) {
        if (!followLinks || !Files.isSymbolicLink(name) || NoMagicLinks.lookUp(name) != FsFailure.ENOENT) {
            return null;
        }
        try {
            return Files.readSymbolicLink(name);
        } catch (IOException | UnsupportedOperationException e) {
            return null; // replaced meanwhile: the next attempt sees what is there
        }
    }
}
