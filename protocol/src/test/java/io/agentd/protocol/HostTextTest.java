package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HostTextTest {
    @Test
    void shortPrintableTextIsQuotedAsIs() {
        assertEquals("\"/bin/sh -c 'ls'\"", HostText.quote("/bin/sh -c 'ls'", 64));
        assertEquals("\"grüße 日本 😀\"", HostText.quote("grüße 日本 😀", 64));
        assertEquals("null", HostText.quote(null, 64));
    }

    @Test
    void controlFormatAndUnpairedSurrogatesAreEscaped() {
        assertEquals("\"a\\nb\\r\\tc\\\\d\\\"e\"", HostText.quote("a\nb\r\tc\\d\"e", 64));
        assertEquals("\"\\u001b[31mred\\u0000\"", HostText.quote("\u001b[31mred\u0000", 64));
        assertEquals("\"\\u202eevil\\u2028\"", HostText.quote("\u202eevil\u2028", 64));
        assertEquals("\"x\\ud800y\"", HostText.quote("x\ud800y", 64));
        assertEquals("\"\\U000f0000\"", HostText.quote(new String(Character.toChars(0xf0000)), 64));
    }

    @Test
    void longTextIsCutAndSaysItsLength() {
        String quoted = HostText.quote("x".repeat(4_194_104), 64);
        assertEquals("\"" + "x".repeat(64) + "\"... (4194104 chars)", quoted);
    }

    @Test
    void anEscapeOrASurrogatePairIsNeverCutInHalf() {
        assertEquals("\"ab\"... (4 chars)", HostText.quote("ab\n\n", 3));
        assertEquals("\"a\"... (3 chars)", HostText.quote("a😀", 2));
        String quoted = HostText.quote("\u0001".repeat(1000), 64);
        assertTrue(quoted.length() <= 64 + 2 + " (1000 chars)...".length(), quoted);
        assertTrue(quoted.startsWith("\"\\u0001\\u0001"), quoted);
    }

    @Test
    void negativeMaxIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> HostText.quote("x", -1));
    }

    @Test
    void unquotedTextKeepsQuotesAndBackslashesButEscapesWhatBreaksALine() {
        String message = "no such user " + HostText.quote("bad\nuser\u001b[31m", 64);
        assertEquals("no such user \"bad\\nuser\\u001b[31m\"", HostText.unquoted(message, 300),
                "the quoted name's escapes once, not twice");
        assertEquals("a\\nb\\u2028c", HostText.unquoted("a\nb\u2028c", 300));
        assertEquals("ab... (4 chars)", HostText.unquoted("ab\n\n", 3));
        assertEquals(null, HostText.unquoted(null, 3));
    }
}
