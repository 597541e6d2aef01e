package io.agentd.protocol;

import java.nio.charset.StandardCharsets;

/**
 * Text measured in the bytes of its UTF-8 encoding, as the kernel and the wire count it (a file
 * name's 255 bytes, the protocol's byte limits), not in Java's chars.
 */
public final class Utf8Text {
    private Utf8Text() {}

    /**
     * The longest start of {@code text} that is at most {@code maxBytes} bytes in UTF-8, cut between
     * characters only (never inside one, nor between the halves of a surrogate pair).
     */
    public static String prefix(String text, int maxBytes) {
        int bytes = 0;
        int end = 0;
        while (end < text.length()) {
            int cp = text.codePointAt(end);
            int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; // its UTF-8 length
            if (bytes + n > maxBytes) {
                break;
            }
            bytes += n;
            end += Character.charCount(cp);
        }
        return text.substring(0, end);
    }

    /**
     * {@code text} when it is at most {@code maxBytes} bytes in UTF-8; otherwise its {@link #prefix}
     * of that many followed by "… (N bytes)", N its whole length: a host's or an agent's text kept
     * or shown within a bound, saying that it was cut and from how much.
     */
    public static String cut(String text, int maxBytes) {
        String kept = prefix(text, maxBytes);
        return kept.length() == text.length() ? text
                : kept + "… (" + text.getBytes(StandardCharsets.UTF_8).length + " bytes)";
    }
}
