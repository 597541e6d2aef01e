package io.agentd.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The encoding side of the codec: canonical CBOR (definite lengths, shortest heads) into a reusable,
 * growable array. Hand-written rather than Jackson's CBORGenerator because the reference encoding
 * needs two things the generator does not do: u64 values above 2^63-1 as plain major-type-0 integers
 * (the generator writes a tagged bignum) and long text as one definite-length string (the generator
 * chunks it); and the frame head must go straight into the caller's ByteBuffer.
 */
final class CborWriter {
    static final int MAJOR_UINT = 0;
    static final int MAJOR_NEGINT = 1;
    static final int MAJOR_BYTES = 2;
    static final int MAJOR_TEXT = 3;
    static final int MAJOR_ARRAY = 4;
    static final int MAJOR_MAP = 5;

    private static final int SIMPLE_FALSE = 0xf4;
    private static final int SIMPLE_TRUE = 0xf5;
    private static final int SIMPLE_NULL = 0xf6;

    private static final int INITIAL_BYTES = 256;
    /**
     * The most a writer keeps between payloads. One grown for a large payload (a session list or a
     * directory listing, up to 4 MiB) lets it go once that payload is out: every connection has an
     * encoder of its own, and 64 idle connections that had each listed once kept 4 MiB apiece, the
     * agent's whole heap.
     */
    static final int RETAINED_BYTES = 64 * 1024;

    private byte[] buf = new byte[INITIAL_BYTES];
    private int size;

    void reset() {
        size = 0;
    }

    /** Empties the writer, and lets a buffer grown past {@link #RETAINED_BYTES} go. */
    void release() {
        size = 0;
        if (buf.length > RETAINED_BYTES) {
            buf = new byte[INITIAL_BYTES];
        }
    }

    /** Bytes of buffer held now (tests). */
    int capacity() {
        return buf.length;
    }

    int size() {
        return size;
    }

    byte[] array() {
        return buf;
    }

    void map(int entries) {
        head(MAJOR_MAP, entries);
    }

    void array(int items) {
        head(MAJOR_ARRAY, items);
    }

    /** An unsigned integer; {@code value} is read as unsigned (u64 fields keep 2^64-1 as -1L). */
    void u64(long value) {
        head(MAJOR_UINT, value);
    }

    /** A signed integer (i32 and friends). */
    void signed(long value) {
        if (value >= 0) {
            head(MAJOR_UINT, value);
        } else {
            head(MAJOR_NEGINT, ~value); // CBOR stores -1 - n
        }
    }

    void bool(boolean value) {
        put(value ? SIMPLE_TRUE : SIMPLE_FALSE);
    }

    void nul() {
        put(SIMPLE_NULL);
    }

    void text(String s) {
        int n = s.length();
        for (int i = 0; i < n; i++) {
            if (s.charAt(i) >= 0x80) {
                byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
                head(MAJOR_TEXT, utf8.length);
                put(utf8, 0, utf8.length);
                return;
            }
        }
        // All ASCII (every key, most values): one byte per char, no intermediate array.
        head(MAJOR_TEXT, n);
        ensure(n);
        for (int i = 0; i < n; i++) {
            buf[size++] = (byte) s.charAt(i);
        }
    }

    void textOrNull(String s) {
        if (s == null) {
            nul();
        } else {
            text(s);
        }
    }

    void bytes(byte[] data, int off, int len) {
        head(MAJOR_BYTES, len);
        put(data, off, len);
    }

    private void head(int major, long arg) {
        ensure(9);
        size += head(buf, size, major, arg);
    }

    private void put(int b) {
        ensure(1);
        buf[size++] = (byte) b;
    }

    private void put(byte[] data, int off, int len) {
        ensure(len);
        System.arraycopy(data, off, buf, size, len);
        size += len;
    }

    private void ensure(int more) {
        if (buf.length - size < more) {
            buf = Arrays.copyOf(buf, Math.max(size + more, buf.length * 2));
        }
    }

    /** Bytes of the head of an item whose argument (length or unsigned value) is {@code arg}. */
    static int headSize(long arg) {
        if (Long.compareUnsigned(arg, 24) < 0) {
            return 1;
        } else if (Long.compareUnsigned(arg, 0x100) < 0) {
            return 2;
        } else if (Long.compareUnsigned(arg, 0x1_0000) < 0) {
            return 3;
        } else if (Long.compareUnsigned(arg, 0x1_0000_0000L) < 0) {
            return 5;
        }
        return 9;
    }

    /** Writes the shortest head for (major, arg) at {@code out}'s position. */
    static void head(ByteBuffer out, int major, long arg) {
        int n = headSize(arg);
        int m = major << 5;
        switch (n) {
            case 1 -> out.put((byte) (m | (int) arg));
            case 2 -> out.put((byte) (m | 24)).put((byte) arg);
            case 3 -> out.put((byte) (m | 25)).put((byte) (arg >>> 8)).put((byte) arg);
            case 5 -> {
                out.put((byte) (m | 26));
                for (int shift = 24; shift >= 0; shift -= 8) {
                    out.put((byte) (arg >>> shift));
                }
            }
            default -> {
                out.put((byte) (m | 27));
                for (int shift = 56; shift >= 0; shift -= 8) {
                    out.put((byte) (arg >>> shift));
                }
            }
        }
    }

    private static int head(byte[] dst, int at, int major, long arg) {
        ByteBuffer view = ByteBuffer.wrap(dst, at, dst.length - at);
        head(view, major, arg);
        return view.position() - at;
    }
}
