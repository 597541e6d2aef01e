package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Utf8TextTest {
    @Test
    void aPrefixIsCutBetweenCharactersAtMostMaxBytesLong() {
        assertEquals("abc", Utf8Text.prefix("abc", 3));
        assertEquals("ab", Utf8Text.prefix("abc", 2));
        assertEquals("a", Utf8Text.prefix("a\u00e9", 2), "\u00e9 is 2 bytes: it does not fit in the one left");
        assertEquals("a\u00e9", Utf8Text.prefix("a\u00e9\u20ac", 5), "\u20ac is 3 bytes");
        String emoji = "\uD83D\uDE00"; // one character, 4 bytes, two chars in Java
        assertEquals("", Utf8Text.prefix(emoji, 3), "never half a surrogate pair");
        assertEquals(emoji, Utf8Text.prefix(emoji + "x", 4));
        assertEquals("", Utf8Text.prefix("abc", 0));
    }

    @Test
    void thePrefixIsTheLongestThatFits() {
        String text = "\u00e9a\u20ac\uD83D\uDE00b".repeat(20);
        for (int max = 0; max <= text.getBytes(StandardCharsets.UTF_8).length + 1; max++) {
            String p = Utf8Text.prefix(text, max);
            int len = p.getBytes(StandardCharsets.UTF_8).length;
            assertEquals(true, len <= max && text.startsWith(p), "max " + max);
            if (p.length() < text.length()) {
                String longer = text.substring(0, p.length() + Character.charCount(text.codePointAt(p.length())));
                assertEquals(true, longer.getBytes(StandardCharsets.UTF_8).length > max, "not the longest at " + max);
            }
        }
    }
}
