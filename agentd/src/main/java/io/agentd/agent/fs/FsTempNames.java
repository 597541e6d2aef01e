package io.agentd.agent.fs;

import io.agentd.protocol.Utf8Text;

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
        return "." + Utf8Text.prefix(name, room) + suffix;
    }
}
