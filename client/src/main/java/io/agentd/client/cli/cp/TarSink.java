package io.agentd.client.cli.cp;

import io.agentd.client.fs.GuestFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.function.LongConsumer;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * A tar stream as a destination ({@code agentctl cp :PATH -}): each entry copied becomes a tar
 * entry, its name relative to the archive's root (a directory's ends in '/'), with its mode and
 * mtime (a tar always carries them, as docker cp's does). Long names and large sizes use PAX
 * headers.
 */
final class TarSink implements DestTree {
    /**
     * The most zeros the archive's entries are padded with, together, when the guest sent fewer
     * bytes than their sizes said (files that shrank while they were read, or whose reads failed):
     * more stops the archive instead ({@link TarCutShort}). Counted over the whole archive, not per
     * file: a guest listing many files of this size each and sending none of their bytes got
     * 1 MiB of zeros per 100 bytes of listing (the review of the first cap: 300 files, 300 MiB).
     */
    static final long MAX_PADDING = 1 << 20;

    private final TarArchiveOutputStream tar;
    /** Zeros the archive may still be padded with ({@link #MAX_PADDING} at first). */
    private long paddingLeft = MAX_PADDING;

    TarSink(OutputStream out) {
        // UTF-8 whatever the JVM's locale: names the same on every host, and UstarEntry's one-pass
        // cut of long names (counted in UTF-8) is commons' own cut.
        tar = new TarArchiveOutputStream(out, "UTF-8");
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        tar.setAddPaxHeadersForNonAsciiNames(true);
    }

    @Override
    public String show(String path) {
        return "-:" + path;
    }

    @Override
    public Entry stat(String path) {
        // The archive starts empty; "" is its root, where the entries go.
        return path.isEmpty() ? new Entry(Entry.Kind.DIR, 0, 0755, 0, 0) : null;
    }

    @Override
    public Entry lstatIfAny(String path) {
        return stat(path); // no links in an archive being written
    }

    @Override
    public void mkdir(String path, Entry source) throws IOException {
        TarArchiveEntry e = new UstarEntry(member(path) + "/", TarConstants.LF_DIR);
        e.setMode(source.modeWithoutSetId() | 040000); // set-id bits cleared, as for a download
        e.setLastModifiedTime(GuestFiles.time(source.mtime()));
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
    }

    @Override
    public void writeFile(String path, Entry source, boolean keep, InputStream in, LongConsumer progress)
            throws IOException {
        if (source.size() < 0) {
            // A u64 past 2^63-1 from the guest: no file is that large. commons refused it with an
            // IllegalArgumentException, which ended the copy as an internal error, its tar unfinished.
            throw new CopyFailure("cannot copy", path, "its size, " + Long.toUnsignedString(source.size())
                    + " bytes as the guest gives it, is past what a file can hold");
        }
        TarArchiveEntry e = new UstarEntry(member(path));
        e.setMode(source.modeWithoutSetId() | 0100000);
        e.setLastModifiedTime(GuestFiles.time(source.mtime()));
        e.setSize(source.size());
        tar.putArchiveEntry(e);
        // The header promised size() bytes: a file that changed meanwhile is cut to it, or padded
        // with zeros to it when at most MAX_PADDING are missing, and reported (the archive stays
        // well-formed). More missing stops the archive cut short (TarCutShort): the size is the
        // guest's word, and zeros for it could be TiB nobody sent. A failure to write the tar, or a
        // lost connection, ends the copy at once: no padding then either.
        byte[] buffer = new byte[64 * 1024];
        long left = source.size();
        IOException failure = null;
        while (left > 0) {
            int n;
            try {
                n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
            } catch (IOException ex) {
                if (CopyFailure.endsTheCopy(ex)) {
                    throw ex;
                }
                failure = ex;
                break;
            }
            if (n < 0) {
                break;
            }
            tar.write(buffer, 0, n);
            left -= n;
            if (progress != null) {
                progress.accept(n);
            }
        }
        if (left > 0) {
            String shown = in instanceof SourceStream s ? s.shown() : show(path);
            // As GNU tar words it ("File shrank by N bytes; padding with zeros"), or the read's failure.
            String message = failure == null
                    ? new CopyFailure("error reading", shown, "file shrank by " + left + " of its " + source.size()
                            + " bytes").getMessage()
                    : CopyFailure.of("error reading", shown, failure).getMessage() + " (" + left + " of its "
                            + source.size() + " bytes not read)";
            if (left > paddingLeft) {
                throw new TarCutShort(message + "; the archive stops here, cut short (at most "
                        + MAX_PADDING + " bytes in all are padded with zeros)");
            }
            paddingLeft -= left;
            java.util.Arrays.fill(buffer, (byte) 0);
            while (left > 0) {
                int n = (int) Math.min(buffer.length, left);
                tar.write(buffer, 0, n);
                left -= n;
            }
            failure = new CopyFailure(message + "; padding with zeros");
        } else {
            try {
                if (in.read() >= 0) {
                    // It grew (or is a /proc file, whose size says 0): GNU tar's warning, and exit 1.
                    failure = new CopyFailure("error reading", path, "file changed as we read it (the archive"
                            + " holds its first " + source.size() + " bytes)");
                }
            } catch (IOException ex) {
                if (CopyFailure.endsTheCopy(ex)) {
                    throw ex;
                }
                failure = ex;
            }
        }
        tar.closeArchiveEntry();
        if (failure != null) {
            throw CopyFailure.of("error reading", path, failure);
        }
    }

    @Override
    public void symlink(String target, String path, Entry link) throws IOException {
        TarArchiveEntry e = new UstarEntry(member(path), TarConstants.LF_SYMLINK);
        e.setLinkName(target);
        e.setMode(0120777);
        e.setLastModifiedTime(GuestFiles.time(link.mtime())); // the link's own (else commons puts the time of the copy)
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
    }

    /** The header is written once, with the directory's own mode: nothing to open up. */
    @Override
    public boolean fillsOnlyWritableDirectories() {
        return false;
    }

    @Override
    public void chmod(String path, long mode) {
        // written with the entry
    }

    @Override
    public void keepAttributes(String path, Entry source) {
        // written with the entry
    }

    /**
     * {@code path} as a member's name, refused unless each of its names is one entry's: no member
     * is absolute or climbs out with "..", whatever path a caller builds ({@link #child} checks
     * each name it joins; a source's own name, the archive's first member, is not joined).
     */
    private static String member(String path) throws CopyFailure {
        for (String name : path.split("/", -1)) {
            if (!EntryNames.isEntryName(name)) {
                throw new CopyFailure("cannot archive " + Quoting.quote(path)
                        + ": a tar member's name must be a relative path of file names");
            }
        }
        return path;
    }

    /** @throws IllegalArgumentException the name is not one entry's ({@link EntryNames#entryName}) */
    @Override
    public String child(String dir, String name) {
        EntryNames.entryName(name);
        return dir.isEmpty() ? name : dir + "/" + name;
    }

    @Override
    public String parent(String path) {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? "" : path.substring(0, slash);
    }

    /** Writes the end of the archive and flushes it. */
    void finish() throws IOException {
        tar.finish();
        tar.flush();
    }
}
