package io.agentd.client.cli.cp;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.InvalidPathException;
import java.util.HashSet;
import java.util.Set;

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

    /** The items that could not be copied, reported and counted. */
    private final FailedItems failed;
    /** Reads of the source whose failures are reported as items'. */
    private final SourceReads reads;
    private final boolean keep;
    private final CopyProgress progress;
    /** The files and links this copy created, as their target paths: a second source onto one is refused. */
    private final Set<String> created = new HashSet<>();
    /** The symbolic links among them: nothing is copied under one. */
    private final CreatedLinks links = new CreatedLinks();
    private int depth;
    /** The names the listings open along the current path hold. */
    private final ListingBudget listings;
    /** Where the operand {@link #target} resolved goes, and whether a target is that operand itself. */
    private final OperandTarget operands = new OperandTarget();

    /** @param keep -a: exact modes and times; otherwise modes less the umask, times of the copy */
    Copier(PrintStream err, boolean keep, CopyProgress progress) {
        this(err, keep, progress, new ListingBudget());
    }

    /** With a listing budget of its own (tests). */
    Copier(PrintStream err, boolean keep, CopyProgress progress, ListingBudget listings) {
        this.failed = new FailedItems(err);
        this.reads = new SourceReads(failed);
        this.keep = keep;
        this.progress = progress;
        this.listings = listings;
    }

    int failures() {
        return failed.count();
    }

    /** {@link FailedItems#report}: reported and counted, or thrown when it ends the copy. */
    void report(IOException failure) throws IOException {
        failed.report(failure);
    }

    /** {@link SourceReads#lstat}: the entry at {@code path}, or null after reporting why it cannot be read. */
    Entry lstat(SourceTree src, String path) throws IOException {
        return reads.lstat(src, path);
    }

    /**
     * Where the source operand goes ({@link OperandTarget#resolve}): into {@code dstPath} when that
     * is a directory, else as {@code dstPath} itself. Null after reporting why not.
     */
    String target(SourceTree src, String srcPath, Entry source, DestTree dst, String dstPath) throws IOException {
        try {
            return operands.resolve(src, srcPath, source, dst, dstPath);
        } catch (IOException e) {
            report(CopyFailure.of("cannot access", dst.show(dstPath), e));
            return null;
        } catch (InvalidPathException e) {
            report(CopyFailure.unencodable("cannot access", dst.show(dstPath)));
            return null;
        }
    }

    /**
     * Copies one source operand to the {@code target} {@link #target} gave it, the directory it goes
     * into held open by the destination meanwhile ({@link DestTree#openParentOf}; the operand copied
     * into itself is held by {@link #copyDir}).
     */
    void copyOperand(SourceTree src, String srcPath, Entry source, DestTree dst, String target) throws IOException {
        if (operands.isOperand(target)) {
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
            report(CopyFailure.unencodable("cannot access", dst.show(target)));
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
            report(CopyFailure.unencodable("cannot copy", src.show(srcPath)));
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
            if (operands.isSpecialOperand(target)) {
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
            there = operands.isOperand(target) ? dst.stat(target) : dst.lstatIfAny(target);
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
        try (DestTree.Held entered = dst.enter(target, operands.isOperand(target))) {
            copyEntries(src, srcPath, dst, target);
        }
        if (keep) {
            // After the contents, which change its mtime; on the operand, followed as it was above.
            if (operands.isOperand(target)) {
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
            listing = reads.uniqueNames(src, srcPath, src.names(srcPath));
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
                if (!EntryNames.isEntryName(name)) {
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
                    report(CopyFailure.unencodable("cannot copy", src.show(srcPath) + "/" + name));
                    continue;
                }
                Entry e = reads.listed(src, child, name);
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
}
