package io.agentd.client.cli.cp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The raw values of a PAX header's records. An empty value removes its key (POSIX; commons does
 * the same): "path=" leaves the ustar name in force. Before, it was read as the name "", the
 * destination itself, and the entry was skipped without a word.
 */
class PaxRecordsTest {
    @Test
    void theLastRecordOfAKeyCountsAndAnEmptyOneRemovesIt() {
        byte[] header = ("12 path=a/b\n" + "12 path=c/d\n" + "16 linkpath=tgt\n").getBytes(StandardCharsets.US_ASCII);
        assertArrayEquals("c/d".getBytes(StandardCharsets.US_ASCII), PaxRecords.value(header, header.length, "path"));
        assertArrayEquals("tgt".getBytes(StandardCharsets.US_ASCII),
                PaxRecords.value(header, header.length, "linkpath"));
        byte[] removed = ("12 path=a/b\n" + "8 path=\n").getBytes(StandardCharsets.US_ASCII);
        assertNull(PaxRecords.value(removed, removed.length, "path"));
        assertNull(PaxRecords.value(header, header.length, "uname"));
    }
}
