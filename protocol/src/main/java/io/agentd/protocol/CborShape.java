package io.agentd.protocol;

/**
 * One linear pass over a peer's CBOR bytes before Jackson reads them, refusing what the protocol
 * never uses and Jackson 2.18 makes costly or ambiguous:
 * <ul>
 *   <li>more than one tag on an item: Jackson keeps the tags before an item in a list it grows by 8
 *       entries, copying it whole each time, so a 4 MiB run of tags cost minutes of the loop's CPU
 *       (quadratic). One tag passes (an unknown key's value may carry one; where a number is
 *       expected the codec refuses it);
 *   <li>the stringref tags 25 and 256, and the value-sharing tags 28 and 29: Jackson resolves
 *       stringrefs, which turned a 4-byte reference into a copy of an earlier 2 MiB key (one frame
 *       made the agent build a terabyte of text), and let a reference to a key nobody checked
 *       (inside a skipped value) pass as any text, past the strict UTF-8 rule;
 *   <li>a map key that is a byte string or tagged: Jackson turns it into text, so a byte string
 *       "cmd" was read as the key cmd (PROTOCOL.md's keys are text; an integer key passes, an
 *       unknown key like any other).
 * </ul>
 * Anything else malformed (a head past the end, a stray break, a reserved length) ends the pass
 * without a verdict: Jackson refuses it as before, with its own message. Nesting deeper than
 * Jackson's limit (1000) also ends the pass, for Jackson to refuse.
 */
final class CborShape {
    /** Jackson's default StreamReadConstraints nesting depth: deeper input is Jackson's to refuse. */
    private static final int MAX_DEPTH = 1000;
    private static final int MAJOR_BYTES = 2;
    private static final int INDEFINITE = 31;
    private static final long TAG_STRINGREF = 25;
    private static final long TAG_SHAREABLE = 28;
    private static final long TAG_SHARED_REF = 29;
    private static final long TAG_STRINGREF_NAMESPACE = 256;
    private static final int BREAK = 0xff;

    private CborShape() {}

    /**
     * What the protocol refuses in {@code a[off, off+len)}, or null: nothing found (or malformed in a
     * way Jackson reports).
     */
    static String problem(byte[] a, int off, int len) {
        int end = off + len;
        int at = off;
        Open open = new Open();
        while (at < end) {
            int initial = a[at] & 0xff;
            int major = initial >>> 5;
            int info = initial & 0x1f;
            if (initial == BREAK) {
                if (!open.takesBreak()) {
                    return null; // a stray break: Jackson's to refuse
                }
                at++;
                open.closeAndCount();
                continue;
            }
            if (open.keyNext() && (major == MAJOR_BYTES || major == CborHead.MAJOR_TAG)) {
                return major == MAJOR_BYTES ? "a map key is a byte string, not text" : "a map key is tagged";
            }
            if (major == CborHead.MAJOR_TAG) {
                int head = CborHead.length(a[at]);
                if (head < 0 || at + head >= end) {
                    return null; // Jackson's to refuse
                }
                long tag = CborHead.argument(a, at);
                if (tag == TAG_STRINGREF || tag == TAG_STRINGREF_NAMESPACE || tag == TAG_SHAREABLE
                        || tag == TAG_SHARED_REF) {
                    return "CBOR tag " + tag + " (string references and shared values are not part of the protocol)";
                }
                at += head;
                if (CborHead.major(a[at]) == CborHead.MAJOR_TAG) {
                    return "more than one CBOR tag on an item";
                }
                continue; // the tagged item is read next, as an item in its own right
            }
            if (info == INDEFINITE && (major == MAJOR_BYTES || major == CborHead.MAJOR_TEXT)) {
                at = afterIndefiniteString(a, at + 1, end, major);
                if (at < 0) {
                    return null;
                }
            } else if (info == INDEFINITE && (major == CborHead.MAJOR_ARRAY || major == CborHead.MAJOR_MAP)) {
                if (!open.push(-1, major == CborHead.MAJOR_MAP)) {
                    return null;
                }
                at++;
                continue;
            } else {
                int head = CborHead.length(a[at]);
                if (head < 0 || at + head > end) {
                    return null; // reserved, indefinite where none may be, or cut short
                }
                long argument = CborHead.argument(a, at);
                at += head;
                if (major == MAJOR_BYTES || major == CborHead.MAJOR_TEXT) {
                    if (argument < 0 || argument > end - at) {
                        return null;
                    }
                    at += (int) argument;
                } else if (major == CborHead.MAJOR_ARRAY || major == CborHead.MAJOR_MAP) {
                    long items = major == CborHead.MAJOR_MAP ? 2 * argument : argument;
                    if (argument < 0 || items > end - at) {
                        return null; // more items than bytes left: cut short
                    }
                    if (items > 0) {
                        if (!open.push(items, major == CborHead.MAJOR_MAP)) {
                            return null;
                        }
                        continue;
                    }
                }
            }
            open.count();
        }
        return null;
    }

    /**
     * The arrays and maps open at this point, innermost last: for each, the items still to come
     * (-1: indefinite) and the items read so far (in a map, even: a key comes next).
     */
    private static final class Open {
        private long[] left = new long[8];
        private long[] read = new long[8];
        private boolean[] map = new boolean[8];
        private int depth;

        /** Opens one; false past {@link #MAX_DEPTH}. */
        boolean push(long items, boolean isMap) {
            if (depth == MAX_DEPTH) {
                return false;
            }
            if (depth == left.length) {
                left = java.util.Arrays.copyOf(left, depth * 2);
                read = java.util.Arrays.copyOf(read, depth * 2);
                map = java.util.Arrays.copyOf(map, depth * 2);
            }
            left[depth] = items;
            read[depth] = 0;
            map[depth] = isMap;
            depth++;
            return true;
        }

        boolean keyNext() {
            return depth > 0 && map[depth - 1] && read[depth - 1] % 2 == 0;
        }

        /** The innermost is indefinite and may end here (not between a key and its value). */
        boolean takesBreak() {
            return depth > 0 && left[depth - 1] == -1 && !(map[depth - 1] && read[depth - 1] % 2 != 0);
        }

        /** The innermost indefinite one ended at its break: it counts as an item of the one around it. */
        void closeAndCount() {
            depth--;
            count();
        }

        /** An item of the innermost ended; each definite one that completes closes and counts in turn. */
        void count() {
            while (depth > 0) {
                read[depth - 1]++;
                if (left[depth - 1] == -1 || --left[depth - 1] != 0) {
                    return;
                }
                depth--;
            }
        }
    }

    /** Past the chunks and break of an indefinite string from {@code at}; -1 if malformed (Jackson's to refuse). */
    private static int afterIndefiniteString(byte[] a, int at, int end, int major) {
        while (at < end) {
            if ((a[at] & 0xff) == BREAK) {
                return at + 1;
            }
            int head = CborHead.length(a[at]);
            if (CborHead.major(a[at]) != major || head < 0 || at + head > end) {
                return -1;
            }
            long chunk = CborHead.argument(a, at);
            at += head;
            if (chunk < 0 || chunk > end - at) {
                return -1;
            }
            at += (int) chunk;
        }
        return -1;
    }
}
