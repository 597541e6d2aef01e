package io.agentd.client.cli.cp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;

/** The checks {@link TarReader} adds to commons-compress, on tar bytes built here. */
class TarReaderTest {

    /** A tar writer whose ustar names are the bytes of ISO-8859-1 chars (so any byte can be written). */
    private static TarArchiveOutputStream raw(ByteArrayOutputStream out) {
        TarArchiveOutputStream tar = new TarArchiveOutputStream(out, StandardCharsets.ISO_8859_1.name());
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_GNU);
        return tar;
    }

    private static void file(TarArchiveOutputStream tar, String name, byte[] data) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(data.length);
        tar.putArchiveEntry(e);
        tar.write(data);
        tar.closeArchiveEntry();
    }

    /** Each entry's name as the reader gives it, or "refused: MESSAGE". */
    private static List<String> names(byte[] archive) throws IOException {
        List<String> names = new ArrayList<>();
        try (TarReader reader = new TarReader(new ByteArrayInputStream(archive))) {
            TarArchiveEntry e;
            while ((e = reader.getNextEntry()) != null) {
                try {
                    names.add(reader.name(e));
                } catch (CopyFailure refused) {
                    names.add("refused: " + refused.getMessage());
                }
            }
        }
        return names;
    }

    @Test
    void aNameThatIsNotUtf8IsRefusedAndTheOthersRead() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = raw(out)) {
            file(tar, "n\u00e9", "one".getBytes()); // the byte 0xe9 alone
            file(tar, "n\u00e8", "two".getBytes());
            file(tar, new String("n\u00e9".getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1), new byte[0]);
            file(tar, "x".repeat(300) + "\u00ff", new byte[0]); // a GNU long name, 0xff at its end
        }
        assertEquals(List.of("refused: refusing tar entry 'n\\xe9': its name is not valid UTF-8",
                "refused: refusing tar entry 'n\\xe8': its name is not valid UTF-8",
                "n\u00e9",
                "refused: refusing tar entry '" + "x".repeat(300) + "\\xff': its name is not valid UTF-8"),
                names(out.toByteArray()));
    }

    @Test
    void paxNamesAreReadFromTheirBytes() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            tar.setAddPaxHeadersForNonAsciiNames(true);
            file(tar, "n\u00e9", new byte[0]);
            file(tar, "\u65e5\u672c", new byte[0]);
            // a PAX path that is not UTF-8 (commons would make it "n\ufffd")
            byte[] record = "11 path=n\u00e9\n".getBytes(StandardCharsets.ISO_8859_1);
            TarArchiveEntry pax = new TarArchiveEntry("././@PaxHeader", TarConstants.LF_PAX_EXTENDED_HEADER_LC);
            pax.setSize(record.length);
            tar.putArchiveEntry(pax);
            tar.write(record);
            tar.closeArchiveEntry();
            file(tar, "placeholder", new byte[0]);
            file(tar, "after", new byte[0]);
        }
        assertEquals(List.of("n\u00e9", "\u65e5\u672c", "refused: refusing tar entry 'n\\xe9': its name is not valid UTF-8",
                "after"), names(out.toByteArray()));
    }

    /** A header record claiming {@code size} bytes of type {@code type}, then {@code data} bytes of 'a'. */
    private static byte[] extensionHeader(byte type, long size, int data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TarArchiveEntry e = new TarArchiveEntry("././@LongLink", type);
        e.setSize(size);
        byte[] header = new byte[512];
        e.writeEntryHeader(header);
        out.write(header);
        byte[] a = new byte[data];
        Arrays.fill(a, (byte) 'a');
        out.write(a);
        return out.toByteArray();
    }

    @Test
    void anOversizedLongNameOrPaxHeaderIsRefusedBeforeItIsRead() throws Exception {
        int oneMiB = 1 << 20;
        for (byte type : new byte[] {TarConstants.LF_GNUTYPE_LONGNAME, TarConstants.LF_GNUTYPE_LONGLINK}) {
            byte[] archive = extensionHeader(type, oneMiB, oneMiB);
            TarReader reader = new TarReader(new ByteArrayInputStream(archive));
            TarStreamException e = assertThrows(TarStreamException.class, reader::getNextEntry);
            assertEquals((type == 'L' ? "a GNU long name" : "a GNU long link name")
                    + " of 1048576 bytes: refused (at most 4096 are read)", e.getMessage());
            assertEquals(512, reader.getBytesRead(), "its data is not read");
        }
        byte[] pax = extensionHeader(TarConstants.LF_PAX_EXTENDED_HEADER_LC, 3L << 30, 0);
        TarReader reader = new TarReader(new ByteArrayInputStream(pax));
        TarStreamException e = assertThrows(TarStreamException.class, reader::getNextEntry);
        assertEquals("a PAX header of 3221225472 bytes: refused (at most 1048576 are read)", e.getMessage());
    }

    /**
     * Extension headers in a row: commons reads each by calling getNextEntry again, so 10,000 tiny
     * GNU long names overflowed the stack (a StackOverflowError, not a refusal), and consecutive
     * PAX headers were all held. Past 16 in a row the stream is refused.
     */
    @Test
    void manyExtensionHeadersInARowAreRefused() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < 10_000; i++) {
            byte[] one = extensionHeader(TarConstants.LF_GNUTYPE_LONGNAME, 100, 512); // its name padded to a record
            out.write(one);
        }
        try (TarArchiveOutputStream tar = raw(out)) {
            file(tar, "f", new byte[0]);
        }
        TarReader reader = new TarReader(new ByteArrayInputStream(out.toByteArray()));
        TarStreamException e = assertThrows(TarStreamException.class, reader::getNextEntry);
        assertTrue(e.getMessage().contains("more than 16 extension headers"), e.getMessage());

        for (int headers : new int[] {16, 17}) { // the bound itself: 16 are read, the 17th is refused
            ByteArrayOutputStream some = new ByteArrayOutputStream();
            for (int i = 0; i < headers; i++) {
                some.write(extensionHeader(TarConstants.LF_GNUTYPE_LONGNAME, 100, 512));
            }
            try (TarArchiveOutputStream tar = raw(some)) {
                file(tar, "f", new byte[0]);
            }
            TarReader r = new TarReader(new ByteArrayInputStream(some.toByteArray()));
            if (headers == 16) {
                assertTrue(r.getNextEntry() != null, "16 in a row are read");
            } else {
                assertThrows(TarStreamException.class, r::getNextEntry, "17 in a row are refused");
            }
        }
    }

    @Test
    void aLongNameWithinPathMaxIsRead() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = raw(out)) {
            file(tar, "d/".repeat(2047) + "f", new byte[0]); // 4095 bytes and the NUL
        }
        assertEquals(List.of("d/".repeat(2047) + "f"), names(out.toByteArray()));
    }

    @Test
    void inputThatIsNotATarIsRefusedAndAnEmptyOneIsAnEmptyArchive() throws Exception {
        for (byte[] input : List.of("hello\n".getBytes(), new byte[600], new byte[512 + 100], "x".repeat(2048).getBytes())) {
            TarReader reader = new TarReader(new ByteArrayInputStream(input));
            TarStreamException e = assertThrows(TarStreamException.class, reader::getNextEntry, input.length + " bytes");
            assertTrue(e.getMessage().contains("not a tar archive") || e.getMessage().equals(TarReader.NOT_A_TAR),
                    e.getMessage());
        }
        assertNull(new TarReader(new ByteArrayInputStream(new byte[0])).getNextEntry(), "empty");
        assertNull(new TarReader(new ByteArrayInputStream(new byte[1024])).getNextEntry(), "just the end of an archive");
        assertNull(new TarReader(new ByteArrayInputStream(new byte[10240])).getNextEntry(), "a whole empty block");
    }
}
