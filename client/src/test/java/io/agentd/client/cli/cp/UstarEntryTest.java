package io.agentd.client.cli.cp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.archivers.zip.ZipEncoding;
import org.apache.commons.compress.archivers.zip.ZipEncodingHelper;
import org.junit.jupiter.api.Test;

class UstarEntryTest {
    private static final ZipEncoding UTF8 = ZipEncodingHelper.getZipEncoding("UTF-8");

    /** The header is byte for byte the one commons writes, for short and long names and targets. */
    @Test
    void headersAreCommonsOwnWhateverTheNamesLength() throws Exception {
        String[] names = {"a", "dir/file.txt", "x".repeat(99), "x".repeat(100), "x".repeat(101),
                "d/".repeat(2000) + "f", "é".repeat(300), "中".repeat(300), "ab" + "é".repeat(60)};
        for (String name : names) {
            for (byte flag : new byte[] {TarConstants.LF_NORMAL, TarConstants.LF_SYMLINK}) {
                TarArchiveEntry theirs = new TarArchiveEntry(name, flag);
                UstarEntry ours = new UstarEntry(name, flag);
                if (flag == TarConstants.LF_SYMLINK) {
                    theirs.setLinkName(name + "/target");
                    ours.setLinkName(name + "/target");
                }
                byte[] expected = new byte[512];
                byte[] actual = new byte[512];
                theirs.writeEntryHeader(expected, UTF8, false);
                ours.writeEntryHeader(actual, UTF8, false);
                assertArrayEquals(expected, actual, name.length() + " chars, flag " + (char) flag);
                assertEquals(theirs.getName(), ours.getName(), "the entry keeps its whole name");
                assertEquals(theirs.getLinkName(), ours.getLinkName());
            }
        }
    }

    @Test
    void aCutNeverSplitsACodePointAndFitsTheField() throws Exception {
        String name = "\uD83D\uDE00".repeat(40); // 4 UTF-8 bytes each
        String fitted = UstarEntry.fitted(name, UTF8);
        assertEquals(25 * 2, fitted.length(), "25 whole emoji in 100 bytes");
        assertTrue(name.startsWith(fitted));
        assertTrue(fitted.getBytes(StandardCharsets.UTF_8).length <= TarConstants.NAMELEN);
        String fits = "y".repeat(TarConstants.NAMELEN);
        assertSame(fits, UstarEntry.fitted(fits, UTF8));
    }
}
