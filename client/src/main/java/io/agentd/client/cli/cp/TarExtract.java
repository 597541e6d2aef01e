package io.agentd.client.cli.cp;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * A tar stream extracted into a guest directory ({@code agentctl cp - :DIR}), as tar -x does:
 * entries keep their modes and mtimes (a tar carries them), symbolic links stay links, a hard
 * link becomes a copy of the file it names, missing parent directories are created. An entry whose
 * name is absolute, climbs out with "..", goes through a symbolic link the archive itself created
 * (or is a hard link to such a path), or is not valid UTF-8 is refused, as is a device, a fifo or
 * an entry of any other type; each such item is reported and the rest extracted. A stream that is
 * not a tar archive, is cut short or holds an oversized header stops the extraction
 * ({@link TarReader}).
 */
final class TarExtract {
    private final Copier copier;
    private final GuestTree dst;
    private final CopyProgress progress;

    TarExtract(Copier copier, GuestTree dst, CopyProgress progress) {
        this.copier = copier;
        this.dst = dst;
        this.progress = progress;
    }

    void extract(InputStream in, String dir) throws IOException {
        List<Dir> dirs = new ArrayList<>();
        Set<String> known = new HashSet<>();
        known.add(dir);
        CreatedLinks links = new CreatedLinks();
        TarReader tar = new TarReader(in);
        IOException ended = null;
        try {
            extractEntries(tar, dir, dirs, known, links);
        } catch (IOException e) {
            ended = e;
        }
        // Also when the stream breaks, the directories made so far get their modes and times; not
        // when the agent is gone or silent (each would wait a timeout more) or stdout broke.
        if (ended == null || !CopyFailure.endsTheCopy(ended)) {
            for (int i = dirs.size() - 1; i >= 0; i--) {
                try {
                    dst.keepAttributes(dirs.get(i).path(), dirs.get(i).entry());
                } catch (IOException e) {
                    if (ended == null) {
                        copier.report(e); // throws what ends the copy
                    } else if (CopyFailure.endsTheCopy(e)) {
                        ended.addSuppressed(e); // the stream's failure is the one to tell
                        break;
                    } else {
                        copier.report(e);
                    }
                }
            }
        }
        if (ended != null) {
            throw ended;
        }
    }

    /** A directory extracted: its attributes are set once everything in it is. */
    private record Dir(String path, Entry entry) {}

    private void extractEntries(TarReader tar, String dir, List<Dir> dirs, Set<String> known, CreatedLinks links)
            throws IOException {
        TarArchiveEntry te;
        while ((te = nextEntry(tar)) != null) {
            String rawName;
            String name;
            try {
                rawName = tar.name(te);
                name = checkedName(rawName, te.isSymbolicLink(), links);
            } catch (CopyFailure refused) {
                copier.report(refused);
                continue;
            }
            if (name.isEmpty() && te.isDirectory()) {
                continue; // "./", the archive's root: the destination itself
            }
            if (name.isEmpty()) {
                copier.report(new CopyFailure("refusing tar entry " + Quoting.quote(rawName)
                        + ": its name is the destination itself, and it is not a directory"));
                continue;
            }
            String target = under(dir, name);
            long mtime = Math.floorDiv(te.getModTime().getTime(), 1000); // a PAX time before 1970 rounds down too
            try {
                String special = special(te);
                if (special != null) { // before its directories are made: nothing of it is extracted
                    throw new CopyFailure("cannot create " + Quoting.quote(dst.show(target)) + ": " + special
                            + " in the tar stream (only files, directories and links are copied)");
                }
                directoriesTo(dir, name, known);
                if (te.isDirectory()) {
                    Entry e = new Entry(Entry.Kind.DIR, 0, te.getMode() & 07777, mtime, mtime);
                    Entry there = dst.lstatIfAny(target); // a link there is no directory to extract into
                    if (there == null) { // owner rwx until its contents are in (its mode is set at the end)
                        dst.mkdir(target, new Entry(Entry.Kind.DIR, 0, e.mode() | 0700, mtime, mtime));
                    } else if (!there.isDir()) {
                        throw new CopyFailure("cannot overwrite non-directory " + Quoting.quote(dst.show(target))
                                + " with a directory");
                    }
                    known.add(target);
                    dirs.add(new Dir(target, e));
                } else if (te.isSymbolicLink()) {
                    dst.symlink(tar.linkName(te), target, new Entry(Entry.Kind.LINK, 0, 0777, mtime, mtime));
                    links.add(name);
                } else if (te.isLink()) {
                    String linked = checkedLinkTarget(rawName, tar.linkName(te), links);
                    noLinkOnTheWayTo(dir, linked, rawName, known);
                    dst.hardLink(under(dir, linked), target);
                } else {
                    Entry e = new Entry(Entry.Kind.FILE, te.getSize(), te.getMode() & 07777, mtime, mtime);
                    dst.writeFile(target, e, true, tar, progress);
                }
            } catch (IOException e) {
                copier.report(e instanceof CopyFailure ? e : CopyFailure.of("cannot extract", dst.show(target), e));
            }
        }
    }

    /**
     * What the entry is when it is neither a directory, a link nor a regular file, or null. Asked of
     * its type flag first: commons' isFile() is true for any entry but a directory, a fifo or a
     * device included, which became an empty regular file. GNU tar extracts an unknown type as a
     * regular file with a warning; here it is refused as the "other" entries of docs/AGENTCTL.md
     * ("Tar streams") are. A name ending in "/" is a directory whatever its type (commons'
     * isDirectory, and old tars' way).
     */
    private static String special(TarArchiveEntry te) {
        if (te.isFIFO()) {
            return "a fifo";
        }
        if (te.isCharacterDevice()) {
            return "a character device";
        }
        if (te.isBlockDevice()) {
            return "a block device";
        }
        if (te.isDirectory() || te.isSymbolicLink() || te.isLink()) {
            return null;
        }
        return switch (te.getLinkFlag()) {
            case TarConstants.LF_OLDNORM, TarConstants.LF_NORMAL, TarConstants.LF_CONTIG,
                    TarConstants.LF_GNUTYPE_SPARSE -> null; // regular files (contiguous and sparse ones too)
            default -> "an entry of unknown type " + Quoting.quote(String.valueOf((char) (te.getLinkFlag() & 0xff)));
        };
    }

    /**
     * The member's name normalized, refused when it would land outside the destination. Only a
     * symbolic link may take the place of a link the archive created (it replaces it); anything
     * else there would be written through it (a directory's attributes, an agent's in-place write).
     */
    private static String checkedName(String raw, boolean isLink, CreatedLinks links) throws CopyFailure {
        String name = normalize(raw);
        if (name == null || raw.startsWith("/")) {
            throw new CopyFailure("refusing tar entry " + Quoting.quote(raw) + (raw.indexOf('\0') >= 0
                    ? ": its name holds a NUL byte" : ": its name is absolute or leaves the destination with .."));
        }
        String link = isLink ? links.under(name) : links.through(name);
        if (link != null) {
            throw new CopyFailure("refusing tar entry " + Quoting.quote(raw) + ": it goes through the symbolic link "
                    + Quoting.quote(link) + " this archive created");
        }
        return name;
    }

    /** A hard link's target normalized, refused when it is not a file this archive put in the destination. */
    private static String checkedLinkTarget(String name, String raw, CreatedLinks links) throws CopyFailure {
        String linked = normalize(raw);
        String why = linked == null || linked.isEmpty() ? "it leaves the destination"
                : links.through(linked) != null
                ? "it goes through the symbolic link " + Quoting.quote(links.through(linked)) + " this archive created"
                : null;
        if (why != null) {
            throw new CopyFailure("refusing hard link " + Quoting.quote(name) + " to " + Quoting.quote(raw) + ": " + why);
        }
        return linked;
    }

    /**
     * The directories between {@code dir} (the destination operand, a link to a directory allowed)
     * and the entry {@code name}, each a directory, made when missing: one that is a symbolic link
     * is refused, as cp(1) does below its operand, not written through (a guest user's link
     * /srv/www/etc -> /etc made an upload as root of etc/passwd write /etc/passwd). Each is looked
     * at once; {@code known} holds those seen or made.
     */
    private void directoriesTo(String dir, String name, Set<String> known) throws IOException {
        NotADirectory found = firstNotADirectory(dir, name, known, true);
        if (found != null) {
            throw new CopyFailure("cannot extract " + Quoting.quote(dst.show(under(dir, name))) + ": "
                    + Quoting.quote(dst.show(found.path())) + (found.there().kind() == Entry.Kind.LINK
                    ? " is a symbolic link, not a directory (not written through)" : " is not a directory"));
        }
    }

    /**
     * A hard link's target is copied by its path, which the agent resolves: none of the directories
     * on the way to it may be a symbolic link, as for a member ({@link #directoriesTo}); before, only
     * the links this archive made were refused, and a guest user's link r -> /root made an
     * extraction as root copy /root/notes.txt in. A directory missing on the way fails the copy.
     */
    private void noLinkOnTheWayTo(String dir, String linked, String rawName, Set<String> known) throws IOException {
        NotADirectory found = firstNotADirectory(dir, linked, known, false);
        // Missing, or a file: the copy fails there itself (ENOENT, ENOTDIR).
        if (found != null && found.there() != null && found.there().kind() == Entry.Kind.LINK) {
            throw new CopyFailure("refusing hard link " + Quoting.quote(rawName) + " to " + Quoting.quote(linked)
                    + ": " + Quoting.quote(dst.show(found.path())) + " is a symbolic link (not followed)");
        }
    }

    /** A directory on the way to a member that is not one: what is {@code there} (null: nothing). */
    private record NotADirectory(String path, Entry there) {}

    /**
     * Walks the directories between {@code dir} and the relative {@code name}'s last part, each
     * looked at once ({@code known} holds those seen to be directories, or made), and returns the
     * first that is not a directory, or null. With {@code makeMissing} one that is missing is made
     * and the walk goes on; without, it is returned with nothing there.
     */
    private NotADirectory firstNotADirectory(String dir, String name, Set<String> known, boolean makeMissing)
            throws IOException {
        String path = dir;
        String[] parts = name.split("/");
        for (int i = 0; i < parts.length - 1; i++) {
            path = dst.child(path, parts[i]);
            if (known.contains(path)) {
                continue;
            }
            Entry there = dst.lstatIfAny(path);
            if (there == null && makeMissing) {
                dst.files().mkdir(path, null);
            } else if (there == null || !there.isDir()) {
                return new NotADirectory(path, there);
            }
            known.add(path);
        }
        return null;
    }

    /** The path of the normalized relative {@code name} in {@code dir}, joined one checked entry name at a time. */
    private String under(String dir, String name) {
        String path = dir;
        for (String part : name.split("/")) {
            path = dst.child(path, part);
        }
        return path;
    }

    private TarArchiveEntry nextEntry(TarReader tar) throws IOException {
        try {
            return tar.getNextEntry();
        } catch (IOException e) {
            throw new CopyFailure("reading the tar stream on stdin: " + e.getMessage());
        }
    }

    /**
     * The name without "./" and trailing "/"; "" for the root; null when it is unsafe (a ".." in it,
     * or a NUL, which a PAX path could hold: no file name can).
     */
    static String normalize(String name) {
        List<String> parts = new ArrayList<>();
        for (String part : name.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (!EntryNames.isEntryName(part)) {
                return null;
            }
            parts.add(part);
        }
        return String.join("/", parts);
    }
}
