package io.agentd.agent.fs;

/**
 * The name of an atomic upload's temporary file: {@code .NAME.agentd-XXXXXXXX} beside its
 * destination. A file name may have 255 bytes (NAME_MAX), and the 17 bytes this adds would push a
 * long one past it (ENAMETOOLONG: such a file could not be uploaded at all), so NAME is cut to fit,
 * at a character's boundary in UTF-8 (the bytes the kernel counts). The name only has to be
 * recognisable and unique in its directory, which the random part and O_EXCL make it.
 */
final class FsTempNames {
    static final int NAME_MAX = 255;
    private static final String MARK = ".agentd-";

    private FsTempNames() {}

    /** The temporary name for destination name {@code name}, with {@code random}'s low 32 bits. */
    static String of(String name, long random) {
        String suffix = MARK + String.format("%08x", random & 0xffff_ffffL);
        int room = NAME_MAX - 1 - suffix.length(); // the leading dot; the suffix is ASCII
        return "." + prefixOf(name, room) + suffix;
    }

    /** The longest start of {@code s} of at most {@code maxBytes} bytes in UTF-8, whole characters only. */
    static String prefixOf(String s, int maxBytes) {
        int bytes = 0;
        int end = 0;
        while (end < s.length()) {
            int cp = s.codePointAt(end);
            int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; // its UTF-8 length
            if (bytes + n > maxBytes) {
                break;
            }
            bytes += n;
            end += Character.charCount(cp);
        }
        return s.substring(0, end);
    }
}
