package io.agentd.client.cli.cp;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The raw bytes of one value in a PAX extended header ("LEN KEY=VALUE\n" records). commons-compress
 * decodes the values as UTF-8, replacing what is not; the bytes are read here so that a name that is
 * not valid UTF-8 can be refused instead of silently changed.
 */
final class PaxRecords {
    private PaxRecords() {}

    /**
     * The value of the last record named {@code key}, or null when there is none (or the header is
     * malformed). An empty value ("path=") removes the key, as POSIX says and commons does: the
     * ustar header's name then counts (it was read as the name "", the destination itself, and the
     * entry skipped without a word).
     */
    static byte[] value(byte[] header, int length, String key) {
        byte[] wanted = key.getBytes(StandardCharsets.US_ASCII);
        byte[] found = null;
        int pos = 0;
        while (pos < length) {
            int space = pos;
            long len = 0;
            while (space < length && header[space] >= '0' && header[space] <= '9' && len < Integer.MAX_VALUE) {
                len = len * 10 + (header[space++] - '0');
            }
            if (space >= length || header[space] != ' ' || len <= space - pos || pos + len > length) {
                return found; // malformed: commons has refused it already, or will
            }
            int end = (int) (pos + len) - 1; // the record's '\n'
            int keyStart = space + 1;
            int eq = keyStart;
            while (eq < end && header[eq] != '=') {
                eq++;
            }
            if (eq < end && Arrays.equals(header, keyStart, eq, wanted, 0, wanted.length)) {
                found = eq + 1 == end ? null : Arrays.copyOfRange(header, eq + 1, end);
            }
            pos = (int) (pos + len);
        }
        return found;
    }
}
