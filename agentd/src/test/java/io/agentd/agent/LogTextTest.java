package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LogTextTest {
    @Test
    void controlCharactersAreEscapedAndLongTextIsCut() {
        assertEquals("\"a\\nb\\u001b[31m\\\"\"", LogText.quote("a\nb\u001b[31m\""));
        String q = LogText.quote("x".repeat(4_194_104));
        assertTrue(q.length() < LogText.MAX_CHARS + 40, q.length() + " chars");
        assertTrue(q.endsWith("... (4194104 chars)"), q.substring(q.length() - 30));
        assertEquals("(none)", LogText.quote(null));
    }

    @Test
    void aMessageStaysOneLineAndEnvKeysShowNoValue() {
        assertEquals("bad type \"x\\nINFO forged\"", LogText.message("bad type \"x\nINFO forged\""));
        assertEquals("no such user \"bad\\nuser\"", LogText.message("no such user " + LogText.quote("bad\nuser")),
                "quoted host text in a message is escaped once");
        assertEquals("[\"A\",\"B\\nC\"]", LogText.keys(java.util.List.of("A=secret", "B\nC=1")));
    }

    @Test
    void requoteReplacesFullQuotesOfHostText() {
        String cmd = "/bin/" + "y".repeat(5000);
        String message = LogText.requote("cannot run \"" + cmd + "\": exec failed", cmd);
        assertTrue(message.length() < 300, message);
        assertTrue(message.startsWith("cannot run \"/bin/yyy"), message);
        assertTrue(message.endsWith(": exec failed"), message);
    }
}
