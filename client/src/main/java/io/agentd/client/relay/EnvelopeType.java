package io.agentd.client.relay;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import java.nio.ByteBuffer;

/**
 * The message type of a frame the relay refuses, read from the first bytes of its envelope only:
 * the refusal names it (core.error's offending_type), and that must not cost the relay a decode of
 * up to 4 MiB that a client chose to make slow, on the thread that serves every client.
 *
 * <p>The envelope is the CBOR map {v, t, p}; encoders write {@code v} and {@code t} first
 * ({@code a3 61 76 07 61 74 <type>}), so the type lies in the first few dozen bytes. This walks at
 * most {@link #MAX_ENTRIES} entries inside the first {@link #HEAD_BYTES} bytes, stepping over
 * integer and short text values; anything else (a {@code t} after {@code p}, a value that is a map,
 * a type this relay does not know) gives null, which core.error allows (offending_type is optional).
 */
final class EnvelopeType {
    /** Bytes of the envelope looked at: the canonical start of the longest type name is under 50. */
    static final int HEAD_BYTES = 128;
    private static final int MAX_ENTRIES = 4;
    /** Length prefix, id, flags: where the envelope starts in a whole frame. */
    private static final int ENVELOPE_AT = Protocol.LENGTH_BYTES + 5;

    private final ByteBuffer frame;
    private final int end;
    private int at;

    private EnvelopeType(ByteBuffer frame) {
        this.frame = frame;
        this.at = frame.position() + ENVELOPE_AT;
        this.end = Math.min(frame.limit(), at + HEAD_BYTES);
    }

    /**
     * The wire name of the type of the whole frame (length prefix included) between {@code frame}'s
     * position and limit, when its envelope's first bytes give a known one; null otherwise. The
     * buffer's position does not move.
     */
    static String of(ByteBuffer frame) {
        return new EnvelopeType(frame).read();
    }

    private String read() {
        int head = nextByte();
        if (head < 0 || (head >> 5) != 5) {
            return null; // not a map
        }
        long entries = head == 0xbf ? MAX_ENTRIES : argument(head); // 0xbf: of indefinite length
        for (long entry = 0; entry < Math.min(entries, MAX_ENTRIES); entry++) {
            String key = shortText();
            if (key == null) {
                return null;
            }
            if (key.equals("t")) {
                String type = shortText();
                return type == null ? null : MessageType.fromWire(type).map(MessageType::wire).orElse(null);
            }
            if (!skipScalar()) {
                return null;
            }
        }
        return null;
    }

    /** A text item of at most 255 ASCII bytes inside the head, or null (not one, or cut by the head's end). */
    private String shortText() {
        int head = nextByte();
        if (head < 0 || (head >> 5) != 3 || (head & 0x1f) > 24) {
            return null;
        }
        long length = argument(head);
        if (length < 0 || at + length > end) {
            return null;
        }
        char[] chars = new char[(int) length];
        for (int i = 0; i < chars.length; i++) {
            int b = frame.get(at + i) & 0xff;
            if (b >= 0x80) {
                return null; // no type name is anything but ASCII
            }
            chars[i] = (char) b;
        }
        at += (int) length;
        return new String(chars);
    }

    /** Steps over an unsigned integer or a short text value (what may precede t); false for anything else. */
    private boolean skipScalar() {
        if (at >= end) {
            return false;
        }
        int head = frame.get(at) & 0xff; // peeked: a text value is taken whole below
        if ((head >> 5) == 3) {
            return shortText() != null;
        }
        at++;
        return (head >> 5) == 0 && argument(head) >= 0;
    }

    /** The argument of an item head (its value or length), reading the bytes that follow it; -1 if none fits. */
    private long argument(int head) {
        int info = head & 0x1f;
        if (info < 24) {
            return info;
        }
        int bytes = info == 24 ? 1 : info == 25 ? 2 : info == 26 ? 4 : info == 27 ? 8 : -1;
        if (bytes < 0 || at + bytes > end) {
            return -1;
        }
        long value = 0;
        for (int i = 0; i < bytes; i++) {
            value = (value << 8) | (frame.get(at++) & 0xff);
        }
        return value < 0 ? -1 : value; // an 8-byte argument past long range is nothing a type follows
    }

    private int nextByte() {
        return at < end ? frame.get(at++) & 0xff : -1;
    }
}
