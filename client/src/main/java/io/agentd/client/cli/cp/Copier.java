package io.agentd.client.cli.cp;

import io.agentd.client.cli.ControlChars;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.InvalidPathException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Copies entries from a {@link SourceTree} to a {@link DestTree} the way cp -R does: directories
 * recursively, symbolic links as links, each failed item reported on stderr (cp(1)'s wording) and
 * counted while the rest is still copied. Only a lost connection or an agent that stopped answering
 * stops it ({@link CopyFailure#endsTheCopy}; thrown).
 *
 * <p>A directory's listing comes from the other side (a guest's agent may say anything): a name
 * that is not one entry of that directory ("", ".", "..", one with '/' or NUL) is refused as a
 * failed item and never joined to a destination path, a name listed twice is copied once, and no
 * entry goes onto or under a file or symbolic link this copy created (a second source of the same
 * name is refused as cp(1) refuses it: "will not overwrite just-created").
 */
final class Copier {
    /**
     * Directories deeper than this below a source are refused: a PATH_MAX (4096 bytes) path holds at
     * most 2048 ("a/" each). A guest's listing could otherwise go on without end (into a tar on stdout).
     */
    static final int MAX_DEPTH = 2048;

    private final PrintStream err;
    private final boolean keep;
    private final CopyProgress progress;
    /** The files and links this copy created, as their target paths: a second source onto one is refused. */
    private final Set<String> created = new HashSet<>();
    /** The symbolic links among them: nothing is copied under one. */
    private final CreatedLinks links = new CreatedLinks();
    private int depth;
    /** The names the listings open along the current path hold. */
    private final ListingBudget listings;
    /** The destination operand, when {@link #target} made it the target itself: a link there is followed. */
    private String operand;
    /**
     * The destination operand, when {@link #target} made it the target and it is a link to a
     * non-directory or a special file (a device, a FIFO): the one name a host side writes into.
     */
    private String specialOperand;
    private int failures;

    /** @param keep -a: exact modes and times; otherwise modes less the umask, times of the copy */
    Copier(PrintStream err, boolean keep, CopyProgress progress) {
        this(err, keep, progress, new ListingBudget());
    }

    /** With a listing budget of its own (tests). */
    Copier(PrintStream err, boolean keep, CopyProgress progress, ListingBudget listings) {
        this.err = err;
        this.keep = keep;
        this.progress = progress;
        this.listings = listings;
    }

    int failures() {
        return failures;
    }

    void report(IOException failure) throws IOException {
        if (CopyFailure.endsTheCopy(failure)) {
            throw failure;
        }
        failures++;
        // A failure names guest paths and carries the agent's words: both the guest's to choose.
        err.println("agentctl cp: " + ControlChars.namingGuestText(failure instanceof CopyFailure ? failure.getMessage()
                : CopyFailure.describe(failure)));
    }

    /** The entry at {@code path}, or null after reporting why it cannot be read. */
    Entry lstat(SourceTree src, String path) throws IOException {
        try {
            return src.lstat(path);
        } catch (IOException e) {
            report(CopyFailure.of("cannot stat", src.show(path), e));
            return null;
        } catch (InvalidPathException e) {
            report(unencodable("cannot stat", src.show(path)));
            return null;
        }
    }

    /**
     * A host path the JVM cannot encode: its file names are decoded and encoded in the locale's
     * charset, ASCII when no UTF-8 locale is set (scripts/agentctl runs it under C.UTF-8 then).
     */
    static CopyFailure unencodable(String what, String shownPath) {
        return new CopyFailure(what, shownPath, "the name cannot be encoded in this locale's charset ("
                + System.getProperty("sun.jnu.encoding", "unknown") + "; set LC_ALL=C.UTF-8)");
    }

    /** A name a directory can hold: not "", "." or "..", no '/' and no NUL. */
    static boolean isEntryName(String name) {
        return !name.isEmpty() && !name.equals(".") && !name.equals("..") && name.indexOf('/') < 0
                && name.indexOf('\0') < 0;
    }

    /**
     * {@code name}, checked for a tree's {@code child(dir, name)}: a name that is not one entry of
     * {@code dir} (see {@link #isEntryName}) is never joined to it, as "..", "" or "a/../.." would
     * name a path on or outside it. Every caller checks its names first, so this is a bug caught,
     * not a user's mistake.
     *
     * @throws IllegalArgumentException {@code name} is not one entry's name
     */
    static String entryName(String name) {
        if (!isEntryName(name)) {
            throw new IllegalArgumentException("not a file name: " + Quoting.quote(name));
        }
        return name;
    }

    /**
     * The names of a listing, sorted, each once. Two entries listed under one name that holds
     * U+FFFD are two names that are not valid UTF-8 (or one such and the valid name it comes out
     * as), each byte that is not replaced by U+FFFD: one of them would be copied and the other left
     * out unsaid, so the name is reported, and the copy fails, once for each entry beyond the first.
     * (Another name listed twice is a listing's mistake, copied once.)
     */
    private Set<String> uniqueNames(SourceTree src, String dir, List<String> names) throws IOException {
        Set<String> unique = new TreeSet<>();
        for (String name : names) {
            if (!unique.add(name) && name.indexOf('\uFFFD') >= 0) {
                report(new CopyFailure("cannot copy an entry of " + Quoting.quote(src.show(dir))
                        + ": two entries are listed as " + Quoting.quote(name) + ", so one of their names is not"
                        + " valid UTF-8 (agentctl cp copies only UTF-8 names)"));
            }
        }
        return unique;
    }

    /**
     * The entry a directory listing named, or null after reporting why it cannot be read. A name
     * whose bytes are not UTF-8 comes out of the listing (Java's on the host, the agent's JSON on
     * the guest) with U+FFFD in their place, and that name then finds nothing: said so rather than
     * "No such file or directory".
     */
    private Entry listed(SourceTree src, String child, String name) throws IOException {
        try {
            return src.lstat(child);
        } catch (InvalidPathException e) {
            report(unencodable("cannot stat", src.show(child)));
            return null;
        } catch (IOException e) {
            if (name.indexOf('\uFFFD') >= 0 && CopyFailure.isNotFound(e)) {
                report(new CopyFailure("cannot copy " + Quoting.quote(src.show(child))
                        + ": its name is not valid UTF-8 (agentctl cp copies only UTF-8 names)"));
            } else {
                report(CopyFailure.of("cannot stat", src.show(child), e));
            }
            return null;
        }
    }

    /**
     * Where the source operand goes (cp(1) and docker cp): into {@code dstPath} when that is a
     * directory (under the source's name, or its contents for a source {@linkplain #contentsOnly
     * ending in "." or ".."}), else as {@code dstPath} itself, whose directory must exist. A
     * {@code dstPath} with a trailing slash that does not exist is made for a directory source, as
     * {@code cp -r dir new/} does, and refused for any other. Null after reporting why not.
     */
    String target(SourceTree src, String srcPath, Entry source, DestTree dst, String dstPath) throws IOException {
        operand = null;
        specialOperand = null;
        try {
            Entry there = dst.stat(dstPath);
            if (there != null && there.isDir()) {
                if (contentsOnly(srcPath) && source.isDir()) {
                    operand = dstPath;
                    return dstPath;
                }
                String name = src.name(srcPath);
                if (!isEntryName(name)) { // never joined: "" or ".." would land on or above dstPath
                    throw new CopyFailure("cannot copy " + Quoting.quote(src.show(srcPath)) + " into "
                            + Quoting.quote(dst.show(dstPath)) + ": its last name " + Quoting.quote(name)
                            + " is not a file name");
                }
                return dst.child(dstPath, name);
            }
            String what = source.isDir() ? "cannot create directory" : "cannot create regular file";
            if (there == null) {
                if (dstPath.endsWith("/") && !source.isDir()) {
                    throw new CopyFailure(what, dst.show(dstPath), "Not a directory");
                }
                Entry parent = dst.stat(dst.parent(dstPath));
                if (parent == null || !parent.isDir()) {
                    throw new CopyFailure(what, dst.show(dstPath),
                            parent == null ? "No such file or directory" : "Not a directory");
                }
                // The directory made is "new", not "new/": the path this copy's checks of what it
                // created compare, and the one its entries' paths are joined to.
                return TrailingSlashes.strip(dstPath);
            }
            if (dstPath.endsWith("/")) {
                // "f/" names a directory: a file there is not replaced (a host Path drops the slash,
                // and its stat found the file; the guest's says ENOTDIR itself)
                throw new CopyFailure(what, dst.show(dstPath), "Not a directory");
            }
            if (source.isDir()) {
                throw new CopyFailure("cannot overwrite non-directory " + Quoting.quote(dst.show(dstPath))
                        + " with directory " + Quoting.quote(src.show(srcPath)));
            }
            Entry self = dst.lstatIfAny(dstPath);
            if (self != null && (self.kind() == Entry.Kind.LINK || self.kind() == Entry.Kind.OTHER)) {
                specialOperand = dstPath; // the name the user gave: written into, as cp(1) does
            }
            return dstPath;
        } catch (IOException e) {
            report(CopyFailure.of("cannot access", dst.show(dstPath), e));
            return null;
        } catch (InvalidPathException e) {
            report(unencodable("cannot access", dst.show(dstPath)));
            return null;
        }
    }

    /**
     * Whether a directory source's contents go into the destination directory rather than the
     * directory under its name: a source whose last name is "." ("DIR/.") or ".." ("DIR/..", which
     * cp(1) also copies as contents: "cp -R src/.. dst" must not write to "dst/.."), trailing
     * slashes aside, or the root "/", which has no name to copy it under (GNU cp tries "dst/"
     * itself and fails; a tar of "/" holds its contents too, as "tar c -C / ." does).
     */
    static boolean contentsOnly(String srcPath) {
        String p = TrailingSlashes.strip(srcPath);
        String last = p.substring(p.lastIndexOf('/') + 1);
        return last.isEmpty() || last.equals(".") || last.equals("..");
    }

    /**
     * Copies one source operand to the {@code target} {@link #target} gave it, the directory it goes
     * into held open by the destination meanwhile ({@link DestTree#openParentOf}; the operand copied
     * into itself is held by {@link #copyDir}).
     */
    void copyOperand(SourceTree src, String srcPath, Entry source, DestTree dst, String target) throws IOException {
        if (target.equals(operand)) {
            copy(src, srcPath, source, dst, target);
            return;
        }
        DestTree.Held into;
        try {
            into = dst.openParentOf(target);
        } catch (IOException e) {
            report(e);
            return;
        } catch (InvalidPathException e) {
            report(unencodable("cannot access", dst.show(target)));
            return;
        }
        try (into) {
            copy(src, srcPath, source, dst, target);
        }
    }

    /** Copies one entry (a whole tree for a directory) to {@code target}. */
    void copy(SourceTree src, String srcPath, Entry source, DestTree dst, String target) throws IOException {
        try {
            String link = links.under(target);
            if (link != null) {
                throw new CopyFailure("cannot copy " + Quoting.quote(src.show(srcPath)) + " to "
                        + Quoting.quote(dst.show(target)) + ": " + Quoting.quote(dst.show(link))
                        + " is a symbolic link this copy created");
            }
            if (created.contains(target)) {
                throw new CopyFailure(source.isDir()
                        ? "cannot overwrite non-directory " + Quoting.quote(dst.show(target)) + " with directory "
                                + Quoting.quote(src.show(srcPath))
                        : "will not overwrite just-created " + Quoting.quote(dst.show(target)) + " with "
                                + Quoting.quote(src.show(srcPath)));
            }
            switch (source.kind()) {
                case FILE -> {
                    try {
                        copyFile(src, srcPath, source, dst, target);
                    } catch (CopyFailure f) {
                        if (f.wasItemWritten()) {
                            created.add(target); // its times could not be kept, but it is this copy's
                        }
                        throw f;
                    }
                    created.add(target);
                }
                case DIR -> copyDir(src, srcPath, source, dst, target);
                case LINK -> {
                    String to;
                    try {
                        to = src.readLink(srcPath);
                    } catch (IOException e) {
                        throw CopyFailure.of("cannot read symbolic link", src.show(srcPath), e);
                    }
                    if (to.isEmpty() || to.indexOf('\0') >= 0) {
                        // No kernel stores such a target: a guest's lie, which a tar member's link
                        // name would cut at the NUL and the host's file system refuses.
                        throw new CopyFailure("cannot read symbolic link", src.show(srcPath),
                                "the guest's answer is no link target (empty, or holding a NUL)");
                    }
                    dst.symlink(to, target, source);
                    created.add(target);
                    links.add(target);
                }
                case OTHER -> throw new CopyFailure("cannot copy " + Quoting.quote(src.show(srcPath))
                        + ": not a regular file, directory or symbolic link");
            }
        } catch (IOException e) {
            report(e instanceof CopyFailure ? e : CopyFailure.of("cannot copy", src.show(srcPath), e));
        } catch (InvalidPathException e) {
            report(unencodable("cannot copy", src.show(srcPath)));
        }
    }

    private void copyFile(SourceTree src, String srcPath, Entry source, DestTree dst, String target)
            throws IOException {
        InputStream in;
        try {
            in = src.open(srcPath);
        } catch (IOException e) {
            if (CopyFailure.endsTheCopy(e)) {
                throw e;
            }
            throw new CopyFailure("cannot open " + Quoting.quote(src.show(srcPath)) + " for reading: "
                    + CopyFailure.describe(e));
        }
        try (InputStream tagged = new SourceStream(in, src.show(srcPath))) {
            if (target.equals(specialOperand)) {
                dst.writeIntoOperand(target, source, keep, tagged, progress);
            } else {
                dst.writeFile(target, source, keep, tagged, progress);
            }
        }
    }

    private void copyDir(SourceTree src, String srcPath, Entry source, DestTree dst, String target)
            throws IOException {
        Entry there;
        try {
            // A link is followed at the destination operand only (a link to a directory is a
            // directory to copy into); below it, as cp(1) does, a link is not a directory: one a
            // guest process or an earlier copy left at dst/sub led the copy into where it points.
            there = target.equals(operand) ? dst.stat(target) : dst.lstatIfAny(target);
        } catch (IOException e) {
            throw CopyFailure.of("cannot access", dst.show(target), e);
        }
        // Made writable and searchable for its owner until its contents are in (as cp(1) does),
        // so a read-only directory (0555) can still be filled; its own mode is set after them.
        // Not in a tar, whose header is written now and never again (its mode then was 0755).
        boolean opened = dst.fillsOnlyWritableDirectories() && (source.mode() & 0700) != 0700;
        if (there == null) {
            dst.mkdir(target, opened ? new Entry(source.kind(), source.size(), source.mode() | 0700, source.mtime(),
                    source.atime()) : source);
        } else if (!there.isDir()) {
            throw new CopyFailure("cannot overwrite non-directory " + Quoting.quote(dst.show(target))
                    + " with directory " + Quoting.quote(src.show(srcPath)));
        }
        if (depth >= MAX_DEPTH) {
            throw new CopyFailure("cannot copy " + Quoting.quote(src.show(srcPath)) + ": more than " + MAX_DEPTH
                    + " directories deep");
        }
        // Held open (by a handle, on the host) while its entries are copied: each is made in the
        // directory itself, not by a path a link put at its name since would lead elsewhere.
        try (DestTree.Held entered = dst.enter(target, target.equals(operand))) {
            copyEntries(src, srcPath, dst, target);
        }
        if (keep) {
            // After the contents, which change its mtime; on the operand, followed as it was above.
            if (target.equals(operand)) {
                dst.keepOperandAttributes(target, source);
            } else {
                dst.keepAttributes(target, source);
            }
        } else if (opened && there == null) {
            closeAsMade(dst, target, source);
        }
    }

    /** Copies the entries of the source directory {@code srcPath} into {@code target}, entered. */
    private void copyEntries(SourceTree src, String srcPath, DestTree dst, String target) throws IOException {
        Set<String> listing;
        try {
            listing = uniqueNames(src, srcPath, src.names(srcPath));
        } catch (IOException e) {
            throw CopyFailure.of("cannot access", src.show(srcPath), e);
        }
        if (!listings.hold(listing)) {
            report(new CopyFailure("cannot copy the contents of " + Quoting.quote(src.show(srcPath)) + ": "
                    + listings.refusal()));
            listing = Set.of();
        }
        depth++;
        try {
            for (String name : listing) {
                if (!isEntryName(name)) {
                    report(new CopyFailure("cannot copy an entry of " + Quoting.quote(src.show(srcPath))
                            + ": its listing gives it the name " + Quoting.quote(name) + ", which is not a file name"));
                    continue;
                }
                String child;
                String childTarget;
                try {
                    child = src.child(srcPath, name);
                    childTarget = dst.child(target, name);
                } catch (InvalidPathException e) {
                    report(unencodable("cannot copy", src.show(srcPath) + "/" + name));
                    continue;
                }
                Entry e = listed(src, child, name);
                if (e != null) {
                    copy(src, child, e, dst, childTarget);
                }
            }
        } finally {
            depth--;
            listings.release(listing);
        }
    }

    /**
     * A directory made open ({@code source | 0700}, less the writing side's umask) gets back only the
     * owner bits its source lacks: its mode is then the source's less the umask, as cp(1) makes it.
     * Setting the source's bits exactly skipped the umask (a guest's 0677 became a world-writable
     * directory on the host).
     */
    private static void closeAsMade(DestTree dst, String target, Entry source) throws IOException {
        Entry made;
        try {
            made = dst.lstatIfAny(target);
        } catch (IOException e) {
            throw CopyFailure.of("setting permissions of", dst.show(target), e);
        }
        if (made != null && made.isDir()) {
            dst.chmod(target, made.mode() & 0777 & ~(0700 & ~source.mode()));
        }
    }

    /**
     * Bytes of the regular files under {@code path} (for the progress line); what cannot be read
     * counts 0, but a failure that {@linkplain CopyFailure#endsTheCopy ends the copy} is thrown: the
     * walk would otherwise meet it again in each directory left (a silent agent's timeout each time).
     */
    static long size(SourceTree src, String path, Entry e) throws IOException {
        return size(src, path, e, 0, new ListingBudget());
    }

    private static long size(SourceTree src, String path, Entry e, int depth, ListingBudget listings)
            throws IOException {
        if (e.kind() == Entry.Kind.FILE) {
            return e.size();
        }
        if (e.kind() != Entry.Kind.DIR || depth >= MAX_DEPTH) {
            return 0;
        }
        long total = 0;
        Set<String> listing = null;
        try {
            listing = new TreeSet<>(src.names(path));
            if (!listings.hold(listing)) {
                listing = null;
                return 0; // reported when the copy gets there
            }
            for (String name : listing) {
                if (isEntryName(name)) { // the others are reported by the copy
                    String child = src.child(path, name);
                    total += size(src, child, src.lstat(child), depth + 1, listings);
                }
            }
        } catch (IOException ex) {
            if (CopyFailure.endsTheCopy(ex)) {
                throw ex;
            }
            // reported when the copy gets there
        } catch (InvalidPathException ex) {
            // reported when the copy gets there
        } finally {
            if (listing != null) {
                listings.release(listing);
            }
        }
        return total;
    }
}
