package io.agentd.protocol;

import java.nio.charset.StandardCharsets;

/**
 * CBOR text items read from their raw bytes. Jackson 2.18 decodes invalid UTF-8 leniently (an
 * overlong "/" as c0 af becomes "/", lone surrogates pass), so text read from the wire is checked
 * here: RFC 8949 requires text strings to be valid UTF-8, and a path must not be smuggled past a
 * check through an alternative spelling. A text's length and its first bytes are also read here,
 * from its heads, for a text too long to be decoded whole.
 */
final class CborText {
    private static final int INDEFINITE_TEXT = 0x7f;
    private static final int BREAK = 0xff;

    private CborText() {}

    /**
     * True when the item at {@code input[offset]} (after any tags) is a text string that is not valid
     * UTF-8, or cannot be walked. Any other kind of item (an integer map key, say) is not text: false.
     */
    static boolean isBadText(byte[] input, long offset) {
        int at = CborHead.afterTags(input, offset);
        if (at < 0) {
            return true;
        }
        if (CborHead.major(input[at]) != CborHead.MAJOR_TEXT) {
            return false;
        }
        if ((input[at] & 0xff) != INDEFINITE_TEXT) {
            return chunkEnd(input, at, true) < 0;
        }
        // Indefinite length: definite chunks up to a break, each valid UTF-8 on its own (RFC 8949 3.2.3).
        at++;
        while (at < input.length && (input[at] & 0xff) != BREAK) {
            at = chunkEnd(input, at, true);
            if (at < 0) {
                return true;
            }
        }
        return at >= input.length;
    }

    /**
     * The byte length of the text item at {@code input[offset]} (after any tags), read from its heads
     * alone, without decoding it: its length, or for an indefinite-length text the sum of its chunks'.
     * -1 when the item is not text or its heads run past the input.
     */
    static long textLength(byte[] input, long offset) {
        int at = CborHead.afterTags(input, offset);
        if (at < 0 || CborHead.major(input[at]) != CborHead.MAJOR_TEXT) {
            return -1;
        }
        if ((input[at] & 0xff) != INDEFINITE_TEXT) {
            return chunkEnd(input, at, false) < 0 ? -1 : CborHead.argument(input, at);
        }
        long total = 0;
        at++;
        while (at < input.length && (input[at] & 0xff) != BREAK) {
            int end = chunkEnd(input, at, false);
            if (end < 0) {
                return -1;
            }
            total += CborHead.argument(input, at);
            at = end;
        }
        return at >= input.length ? -1 : total;
    }

    /**
     * Up to {@code maxBytes} bytes from the start of the text item at {@code input[offset]} (its first
     * chunk when it has several), decoded leniently: for quoting a text too long to decode whole.
     */
    static String textPrefix(byte[] input, long offset, int maxBytes) {
        int at = CborHead.afterTags(input, offset);
        if (at < 0 || CborHead.major(input[at]) != CborHead.MAJOR_TEXT) {
            return "";
        }
        if ((input[at] & 0xff) == INDEFINITE_TEXT && ++at >= input.length) {
            return "";
        }
        int head = CborHead.length(input[at]);
        if (CborHead.major(input[at]) != CborHead.MAJOR_TEXT || head < 0 || at + head > input.length) {
            return "";
        }
        int start = at + head;
        long len = CborHead.argument(input, at);
        long available = len < 0 ? input.length - start : Math.min(len, input.length - start);
        return new String(input, start, (int) Math.min(available, maxBytes), StandardCharsets.UTF_8);
    }

    /**
     * End of the definite text chunk at {@code input[at]}, or -1 when it is not one or runs past the
     * input (or, with {@code checkUtf8}, its bytes are not valid UTF-8).
     */
    private static int chunkEnd(byte[] input, int at, boolean checkUtf8) {
        int head = CborHead.length(input[at]);
        if (CborHead.major(input[at]) != CborHead.MAJOR_TEXT || head < 0 || at + head > input.length) {
            return -1;
        }
        long len = CborHead.argument(input, at);
        // compared with what is left, never added: a length near 2^63 would wrap the sum past the check
        if (len < 0 || len > input.length - (at + head)) {
            return -1;
        }
        int end = at + head + (int) len;
        return !checkUtf8 || isUtf8(input, at + head, end) ? end : -1;
    }

    /** RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
    static boolean isUtf8(byte[] b, int from, int to) {
        int i = from;
        while (i < to) {
            int c = b[i] & 0xff;
            if (c < 0x80) {
                i++;
                continue;
            }
            int more;
            int lo = 0x80;
            int hi = 0xbf;
            if (c >= 0xc2 && c <= 0xdf) {
                more = 1;
            } else if (c >= 0xe0 && c <= 0xef) {
                more = 2;
                if (c == 0xe0) {
                    lo = 0xa0; // overlong
                } else if (c == 0xed) {
                    hi = 0x9f; // surrogates
                }
            } else if (c >= 0xf0 && c <= 0xf4) {
                more = 3;
                if (c == 0xf0) {
                    lo = 0x90; // overlong
                } else if (c == 0xf4) {
                    hi = 0x8f; // above U+10FFFF
                }
            } else {
                return false;
            }
            if (i + more >= to) {
                return false;
            }
            int second = b[i + 1] & 0xff;
            if (second < lo || second > hi) {
                return false;
            }
            for (int k = 2; k <= more; k++) {
                if ((b[i + k] & 0xc0) != 0x80) {
                    return false;
                }
            }
            i += more + 1;
        }
        return true;
    }
}
