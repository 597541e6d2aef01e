package io.agentd.client.cli;

import io.agentd.protocol.HostText;

/**
 * Text from outside (a path, an argument, a message naming them) made safe to print on one line of
 * a terminal: control characters shown as escapes (a newline as \n, ESC as \x1b) and a backslash
 * doubled, so an escape in the text cannot pass for one of these.
 */
public final class ControlChars {
    private ControlChars() {}

    /**
     * Characters of an agent's message printed at most: past any message the agent builds (its
     * longest quote a path whole, 512 characters, twice), yet bounded.
     */
    static final int AGENT_TEXT_MAX = 4096;

    /**
     * A message the agent sent (a failure's or a refusal's), made safe to print on one line: every
     * control, format (bidi) and separator character escaped, its quotes and backslashes as the
     * agent wrote them (its messages quote host text already, escaped once), cut to
     * {@value #AGENT_TEXT_MAX} characters. The agent is the untrusted side: printed raw, its text
     * could set the terminal's title, move the cursor or forge an "agentctl:" line.
     */
    public static String fromAgent(String text) {
        return text == null ? "null" : HostText.unquoted(text, AGENT_TEXT_MAX);
    }

    /**
     * A line agentctl composed that names what the guest chose (its paths, the agent's words in a
     * copy's failure), escaped as {@link #fromAgent} escapes, but not cut: its reason comes last,
     * after a path that may be thousands of characters long, and agentctl bounds what it composes.
     */
    public static String namingGuestText(String text) {
        return text == null ? "null" : HostText.unquoted(text, Integer.MAX_VALUE);
    }

    /**
     * agentctl's own one line for a failure that ended a command, whose message may name what the
     * guest chose (a copied path, the agent's words in cp's "the copy stopped"): {@link #escape}d,
     * and then every format (bidi), separator and other unprintable character escaped as
     * {@link #namingGuestText} escapes it, not cut. {@link #escape} alone left U+202E (which
     * reverses what follows on the terminal) and U+2028 (a line break to some terminals) raw.
     */
    public static String oneLine(String text) {
        return text == null ? "null" : namingGuestText(escape(text));
    }

    public static String escape(String text) {
        StringBuilder s = null; // made at the first character that needs it: most text has none
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            String replacement = switch (c) {
                case '\n' -> "\\n";
                case '\t' -> "\\t";
                case '\r' -> "\\r";
                case '\\' -> "\\\\";
                default -> Character.isISOControl(c) ? String.format("\\x%02x", (int) c) : null;
            };
            if (replacement != null && s == null) {
                s = new StringBuilder(text.length() + 8).append(text, 0, i);
            }
            if (s != null) {
                if (replacement != null) {
                    s.append(replacement);
                } else {
                    s.append(c);
                }
            }
        }
        return s == null ? text : s.toString();
    }
}
