package io.agentd.agent.session;

/**
 * Host text (cmd, cwd, user) as the agent quotes it in log lines and messages: a short prefix with
 * control characters escaped, so a request cannot make a line megabytes long or forge log lines.
 * The one place for it in agentd, to be replaced by the protocol module's own quoting when it has one.
 */
final class LogText {
    /** Characters of host text quoted at most; the rest is summarised by its length. */
    static final int MAX_CHARS = 200;

    private LogText() {}

    /** {@code text} in double quotes, cut to {@link #MAX_CHARS}, control characters as escapes; null as (none). */
    static String quote(String text) {
        if (text == null) {
            return "(none)";
        }
        StringBuilder b = new StringBuilder(Math.min(text.length(), MAX_CHARS) + 32).append('"');
        int end = Math.min(text.length(), MAX_CHARS);
        for (int i = 0; i < end; i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
        if (text.length() > end) {
            b.append("... (").append(text.length()).append(" chars)");
        }
        return b.toString();
    }

    /**
     * {@code message} with each {@code "text"} it quotes (as built elsewhere, verbatim) replaced by
     * {@link #quote}: for messages built by code that quotes host text in full.
     */
    static String requote(String message, String... hostTexts) {
        if (message == null) {
            return null;
        }
        String result = message;
        for (String text : hostTexts) {
            if (text != null && text.length() > 0) {
                result = result.replace("\"" + text + "\"", quote(text));
            }
        }
        return result;
    }
}
