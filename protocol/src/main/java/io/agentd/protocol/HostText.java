package io.agentd.protocol;

/**
 * Text that came from the host, made safe to put in a reply or a log line: its length is bounded
 * whatever the host sent, and nothing in it can forge a log line or steer a terminal (newlines,
 * escape sequences, bidi overrides, unpaired surrogates are all shown escaped).
 */
public final class HostText {
    /** The prefix length the codec quotes in its own messages. */
    public static final int QUOTE_MAX = 64;

    private HostText() {}

    /**
     * {@code text} in double quotes, escaped, with at most {@code max} characters between the quotes.
     * Backslash and double quote are escaped as {@code \\} and {@code \"}; tab, newline and carriage
     * return as {@code \t}, {@code \n}, {@code \r}; any other control, format, separator, private-use,
     * unassigned or unpaired surrogate character as {@code \}{@code uXXXX} (or {@code \UXXXXXXXX}
     * above the BMP). An escape is never cut in half. When the text does not fit, the quote is
     * followed by {@code ... (N chars)} with the text's full length. Null gives {@code null}.
     */
    public static String quote(String text, int max) {
        return text == null ? "null" : shown(text, max, true);
    }

    /**
     * {@code text} escaped as {@link #quote} escapes it, without the quotes and with backslash and
     * double quote left as they are: for a message that holds host text already quoted, which
     * {@link #quote} would escape a second time ({@code "a\nb"} shown as {@code \"a\\nb\"}). Still
     * one line whatever the text: every control and separator character is escaped. Null gives
     * {@code null}.
     */
    public static String unquoted(String text, int max) {
        return text == null ? null : shown(text, max, false);
    }

    private static String shown(String text, int max, boolean quoted) {
        if (max < 0) {
            throw new IllegalArgumentException("max must not be negative: " + max);
        }
        StringBuilder out = new StringBuilder(Math.min(text.length(), max) + 24);
        if (quoted) {
            out.append('"');
        }
        int shown = 0;
        int at = 0;
        while (at < text.length()) {
            int cp = text.codePointAt(at);
            String piece = escape(cp, text, at, quoted);
            if (shown + piece.length() > max) {
                break;
            }
            out.append(piece);
            shown += piece.length();
            at += Character.charCount(cp);
        }
        if (quoted) {
            out.append('"');
        }
        if (at < text.length()) {
            out.append("... (").append(text.length()).append(" chars)");
        }
        return out.toString();
    }

    /** The code point at {@code text[at]} as it is shown; backslash and double quote escaped only {@code inQuotes}. */
    private static String escape(int cp, String text, int at, boolean inQuotes) {
        switch (cp) {
            case '\\':
                return inQuotes ? "\\\\" : "\\";
            case '"':
                return inQuotes ? "\\\"" : "\"";
            case '\t':
                return "\\t";
            case '\n':
                return "\\n";
            case '\r':
                return "\\r";
            default:
                break;
        }
        if (printable(cp)) {
            return text.substring(at, at + Character.charCount(cp));
        }
        return cp <= 0xffff ? String.format("\\u%04x", cp) : String.format("\\U%08x", cp);
    }

    /**
     * Whether {@code cp} may be shown as itself: not a control, format (bidi), separator, surrogate,
     * private-use or unassigned character, which the quoting here escapes.
     */
    public static boolean printable(int cp) {
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE,
                    Character.UNASSIGNED, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> false;
            default -> true;
        };
    }
}
