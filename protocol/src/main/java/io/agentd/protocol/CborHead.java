package io.agentd.protocol;

/**
 * The heads of CBOR items (RFC 8949 3): major type, head length and argument, read from raw bytes.
 * Sizes are taken from here before Jackson builds anything, so a huge one is refused unbuilt.
 */
final class CborHead {
    static final int MAJOR_TEXT = 3;
    static final int MAJOR_ARRAY = 4;
    static final int MAJOR_MAP = 5;
    static final int MAJOR_TAG = 6;
    /** Floats and simple values: false, true, null, undefined, and the break. */
    static final int MAJOR_SIMPLE = 7;

    private CborHead() {}

    static int major(byte initial) {
        return (initial & 0xff) >>> 5;
    }

    /** Bytes of the head that starts with {@code initial}, or -1 for an indefinite or reserved form. */
    static int length(byte initial) {
        int info = initial & 0x1f;
        if (info < 24) {
            return 1;
        }
        return info <= 27 ? 1 + (1 << (info - 24)) : -1;
    }

    /**
     * The argument of the definite head at {@code input[at]} (a string's byte length, an array's or a
     * map's entry count), read as unsigned: above 2^63-1 it is negative. The head must be in the input.
     */
    static long argument(byte[] input, int at) {
        int head = length(input[at]);
        long arg = input[at] & 0x1f;
        if (head > 1) {
            arg = 0;
            for (int i = 1; i < head; i++) {
                arg = (arg << 8) | (input[at + i] & 0xff);
            }
        }
        return arg;
    }

    /** Where the item at {@code input[offset]} starts once its tags are passed, or -1. */
    static int afterTags(byte[] input, long offset) {
        if (offset < 0 || offset >= input.length) {
            return -1;
        }
        int at = (int) offset;
        while (major(input[at]) == MAJOR_TAG) {
            int head = length(input[at]);
            if (head < 0 || at + head >= input.length) {
                return -1;
            }
            at += head;
        }
        return at;
    }

    /**
     * The entry count in the head of the array or map at {@code input[offset]}; -1 for an indefinite
     * length, a tagged item or anything else (whose entries are then counted as they are read).
     */
    static long definiteEntries(byte[] input, long offset) {
        if (offset < 0 || offset >= input.length) {
            return -1;
        }
        int at = (int) offset;
        int major = major(input[at]);
        int head = length(input[at]);
        if ((major != MAJOR_ARRAY && major != MAJOR_MAP) || head < 0 || at + head > input.length) {
            return -1;
        }
        long entries = argument(input, at);
        return entries < 0 ? Long.MAX_VALUE : entries;
    }
}
