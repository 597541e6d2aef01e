package io.agentd.client.cli.cp;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarUtils;

/**
 * The tar stream of {@code agentctl cp - :DIR}, read by commons-compress with the checks tar(1)
 * makes and commons does not:
 * <ul>
 * <li>input that is not a tar archive (its first record is no tar header, or it ends inside a
 * 512-byte record) is refused; an empty input is an empty archive;
 * <li>a GNU long name or link name (types L and K) longer than PATH_MAX, or a PAX header longer
 * than {@link #MAX_PAX}, is refused before its data is read: commons would buffer it whole
 * (gigabytes, an OutOfMemoryError); so are more than {@link #MAX_EXTENSION_HEADERS} such headers
 * in a row;
 * <li>names are UTF-8, strictly ({@link #name}, {@link #linkName}): commons would replace bytes
 * that are not, and two names would become one.
 * </ul>
 * The failures of the stream are {@link TarStreamException}s.
 */
final class TarReader extends TarArchiveInputStream {
    /** A GNU long name or link name: PATH_MAX bytes, its NUL included. */
    static final int MAX_LONG_NAME = 4096;
    /**
     * A PAX header: a path and a link name of PATH_MAX, times, ids, and extended attributes (up to
     * 64 KiB each on Linux) fit many times over; the cap only keeps memory bounded.
     */
    static final int MAX_PAX = 1 << 20;
    static final String NOT_A_TAR = "This does not look like a tar archive";
    /**
     * Extension headers (PAX, GNU long name and link name) that may come in a row before the entry
     * they describe: commons reads each by calling getNextEntry again, so without a bound a few
     * thousand tiny ones overflowed the stack, and consecutive 1 MiB PAX headers were all held.
     */
    static final int MAX_EXTENSION_HEADERS = 16;

    private static final int TYPE_OFFSET = 156;
    private static final int SIZE_OFFSET = 124;
    private static final int SIZE_LENGTH = 12;

    private long records;
    /** Nesting of getNextEntry: commons calls it again for the entry after a PAX or long-name header. */
    private int depth;
    /** The local PAX header of the entry being read (its raw bytes). */
    private final ByteArrayOutputStream pax = new ByteArrayOutputStream();
    private byte[] paxPath;
    private byte[] paxLinkPath;

    TarReader(InputStream in) {
        // ISO-8859-1 maps each byte of a header's name to one char and back: the bytes are then
        // decoded as UTF-8 strictly (commons' own UTF-8 decoding replaces what is not valid).
        super(in, StandardCharsets.ISO_8859_1.name());
    }

    @Override
    public TarArchiveEntry getNextEntry() throws IOException {
        if (depth == 0) {
            pax.reset();
        }
        if (depth > MAX_EXTENSION_HEADERS) { // the entry after 16 of them is the 17th nested call
            throw new TarStreamException("more than " + MAX_EXTENSION_HEADERS + " extension headers (PAX, GNU long"
                    + " names) in a row before an entry: not an archive tar(1) writes");
        }
        depth++;
        TarArchiveEntry e;
        try {
            e = super.getNextEntry();
        } finally {
            depth--;
        }
        if (depth == 0) {
            byte[] raw = pax.toByteArray();
            paxPath = PaxRecords.value(raw, raw.length, "path");
            paxLinkPath = PaxRecords.value(raw, raw.length, "linkpath");
        }
        return e;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        TarArchiveEntry e = getCurrentEntry();
        if (n > 0 && e != null && e.isPaxHeader() && !e.isGlobalPaxHeader()) {
            if (pax.size() + n > MAX_PAX) { // each header's size was checked; several in a row are too
                throw new TarStreamException("PAX headers of more than " + MAX_PAX + " bytes for one entry");
            }
            pax.write(b, off, n); // commons is reading the PAX header
        }
        return n;
    }

    @Override
    protected byte[] readRecord() throws IOException {
        long before = getBytesRead();
        byte[] record = super.readRecord();
        long got = getBytesRead() - before;
        boolean first = records++ == 0;
        if (record == null) {
            if (got > 0) {
                throw new TarStreamException(first ? NOT_A_TAR
                        : "the tar stream ends inside a 512-byte record (cut short, or not a tar archive)");
            }
            return null; // the end of the input: an empty one, or the end of the archive
        }
        if (isEOFRecord(record)) {
            return record;
        }
        // Records that are not headers pass here too (old GNU sparse maps); they have no checksum.
        boolean header = isHeader(record);
        if (first && !header) {
            throw new TarStreamException(NOT_A_TAR);
        }
        if (header) {
            checkExtensionSize(record);
        }
        return record;
    }

    private static boolean isHeader(byte[] record) {
        try {
            return TarUtils.verifyCheckSum(record);
        } catch (IllegalArgumentException e) {
            return false; // its checksum field is not even a number
        }
    }

    /** Refuses a long-name or PAX header bigger than its cap, before commons buffers its data. */
    private static void checkExtensionSize(byte[] header) throws TarStreamException {
        char type = (char) header[TYPE_OFFSET];
        long cap = switch (type) {
            case 'L', 'K' -> MAX_LONG_NAME;
            case 'x', 'g', 'X' -> MAX_PAX;
            default -> -1;
        };
        if (cap < 0) {
            return;
        }
        long size;
        try {
            size = TarUtils.parseOctalOrBinary(header, SIZE_OFFSET, SIZE_LENGTH);
        } catch (IllegalArgumentException e) {
            return; // commons refuses the header itself
        }
        if (size > cap || size < 0) {
            String what = type == 'L' ? "a GNU long name" : type == 'K' ? "a GNU long link name" : "a PAX header";
            throw new TarStreamException(what + " of " + size + " bytes: refused (at most " + cap + " are read)");
        }
    }

    /** The entry's name, UTF-8; a {@link CopyFailure} when it is not valid UTF-8. */
    String name(TarArchiveEntry e) throws CopyFailure {
        return decode(paxPath != null ? paxPath : e.getName().getBytes(StandardCharsets.ISO_8859_1), "name");
    }

    /** The entry's link target, UTF-8; a {@link CopyFailure} when it is not valid UTF-8. */
    String linkName(TarArchiveEntry e) throws CopyFailure {
        return decode(paxLinkPath != null ? paxLinkPath : e.getLinkName().getBytes(StandardCharsets.ISO_8859_1),
                "link target");
    }

    private static String decode(byte[] bytes, String what) throws CopyFailure {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new CopyFailure("refusing tar entry " + escaped(bytes) + ": its " + what
                    + " is not valid UTF-8");
        }
    }

    /** Bytes that are not valid UTF-8, shown quoted, ASCII as it is and every other byte as \xNN. */
    static String escaped(byte[] bytes) {
        StringBuilder s = new StringBuilder("'");
        for (byte b : bytes) {
            if (b == '\\') {
                s.append("\\\\");
            } else if (b >= 0x20 && b < 0x7f) {
                s.append((char) b);
            } else {
                s.append(String.format("\\x%02x", b & 0xff));
            }
        }
        return s.append('\'').toString();
    }
}
