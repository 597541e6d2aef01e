package io.agentd.protocol;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Test-side CBOR and frame builder, written independently of the codec: it builds both the exact
 * bytes the encoder must produce and the broken ones the decoder must refuse.
 */
final class RawCbor {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** Shortest head for (major, arg); arg is unsigned. */
    RawCbor head(int major, long arg) {
        int m = major << 5;
        if (Long.compareUnsigned(arg, 24) < 0) {
            out.write(m | (int) arg);
        } else if (Long.compareUnsigned(arg, 0xff) <= 0) {
            out.write(m | 24);
            out.write((int) arg);
        } else if (Long.compareUnsigned(arg, 0xffff) <= 0) {
            out.write(m | 25);
            be(arg, 2);
        } else if (Long.compareUnsigned(arg, 0xffff_ffffL) <= 0) {
            out.write(m | 26);
            be(arg, 4);
        } else {
            out.write(m | 27);
            be(arg, 8);
        }
        return this;
    }

    RawCbor map(int entries) {
        return head(5, entries);
    }

    RawCbor array(int items) {
        return head(4, items);
    }

    RawCbor uint(long value) {
        return head(0, value);
    }

    RawCbor integer(long value) {
        return value >= 0 ? head(0, value) : head(1, -1 - value);
    }

    RawCbor text(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        head(3, utf8.length);
        out.writeBytes(utf8);
        return this;
    }

    RawCbor bytes(byte[] data) {
        head(2, data.length);
        out.writeBytes(data);
        return this;
    }

    RawCbor nul() {
        return raw(0xf6);
    }

    RawCbor bool(boolean value) {
        return raw(value ? 0xf5 : 0xf4);
    }

    /** Bytes as given (breaks, simple values, indefinite heads, garbage). */
    RawCbor raw(int... bytes) {
        for (int b : bytes) {
            out.write(b);
        }
        return this;
    }

    RawCbor raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    byte[] build() {
        return out.toByteArray();
    }

    private void be(long value, int n) {
        for (int i = n - 1; i >= 0; i--) {
            out.write((int) (value >>> (8 * i)));
        }
    }

    /** The CBOR body {v, t, p}. */
    static byte[] envelope(long v, String t, byte[] p) {
        return new RawCbor().map(3).text("v").uint(v).text("t").text(t).text("p").bytes(p).build();
    }

    /** A whole frame, length prefix included, around an arbitrary body. */
    static byte[] frame(long id, int flags, byte[] body) {
        int len = 5 + body.length;
        return new RawCbor().rawInt(len).rawInt((int) id).raw(flags).raw(body).build();
    }

    /** A well-formed frame of {@code type} (its own flags, generation 7) around payload bytes {@code p}. */
    static byte[] frame(long id, MessageType type, byte[] p) {
        return frame(id, type.flags(), envelope(Protocol.GENERATION, type.wire(), p));
    }

    private RawCbor rawInt(int value) {
        be(Integer.toUnsignedLong(value), 4);
        return this;
    }
}
