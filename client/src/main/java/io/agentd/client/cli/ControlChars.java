package io.agentd.client.cli;

/**
 * Text from outside (a path, an argument, a message naming them) made safe to print on one line of
 * a terminal: control characters shown as escapes (a newline as \n, ESC as \x1b) and a backslash
 * doubled, so an escape in the text cannot pass for one of these.
 */
public final class ControlChars {
    private ControlChars() {}

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
