package io.agentd.client.cli.cp;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.archivers.zip.ZipEncoding;

/**
 * A tar entry whose name and link target are cut to the ustar header's 100-byte fields in one pass.
 * commons-compress (1.28) writes a name too long for its field by encoding ever shorter prefixes of
 * it, one character less each time, until one fits: quadratic in the name, 10-20 ms for each of the
 * 4 KiB names of a deep tree, 22 s for a tree 2048 deep. With {@code LONGFILE_POSIX} the whole
 * name has already gone out in the PAX header before this one, so what the field holds is only
 * what a reader that ignores PAX sees: the same prefix, found here in one pass.
 */
final class UstarEntry extends TarArchiveEntry {
    UstarEntry(String name) {
        super(name);
    }

    UstarEntry(String name, byte linkFlag) {
        super(name, linkFlag);
    }

    @Override
    public void writeEntryHeader(byte[] outbuf, ZipEncoding encoding, boolean starMode) throws IOException {
        String name = getName();
        String link = getLinkName();
        String fittedName = fitted(name, encoding);
        String fittedLink = fitted(link, encoding);
        if (fittedName == name && fittedLink == link) {
            super.writeEntryHeader(outbuf, encoding, starMode);
            return;
        }
        setName(fittedName);
        setLinkName(fittedLink);
        try {
            super.writeEntryHeader(outbuf, encoding, starMode);
        } finally {
            setName(name);
            setLinkName(link);
        }
    }

    /**
     * {@code s} itself when it fits a ustar name field in {@code encoding}, else its longest prefix
     * (whole code points) whose UTF-8 fits; should that not fit in another encoding, {@code s}
     * again, and commons shortens it its own way.
     */
    static String fitted(String s, ZipEncoding encoding) throws IOException {
        if (s == null || s.isEmpty() || fits(s, encoding)) {
            return s;
        }
        int bytes = 0;
        int end = 0;
        while (end < s.length()) {
            int cp = s.codePointAt(end);
            int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
            if (bytes + n > TarConstants.NAMELEN) {
                break;
            }
            bytes += n;
            end += Character.charCount(cp);
        }
        String prefix = s.substring(0, end);
        return fits(prefix, encoding) ? prefix : s;
    }

    private static boolean fits(String s, ZipEncoding encoding) throws IOException {
        ByteBuffer b = encoding.encode(s);
        return b.limit() <= TarConstants.NAMELEN;
    }
}
