package io.agentd.agent;

import io.agentd.protocol.HostText;
import java.util.List;

/**
 * The one way agentd puts text the host sent (cmd, cwd, user, env keys, types, paths, messages that
 * quote any of them) into a log line: escaped and bounded by {@link HostText#quote}, so a request
 * can neither forge a log line (a newline, a carriage return, a terminal escape) nor make one
 * megabytes long (lines are written synchronously on the loop thread; in the guest the console is
 * a serial port).
 */
public final class LogText {
    /** Characters of one host text quoted at most; the rest is summarised by its length. */
    public static final int MAX_CHARS = 200;
    /** Characters of a message that may hold host text. */
    public static final int MESSAGE_MAX_CHARS = 300;
    /** Env keys listed in a line at most; the rest is summarised by their count. */
    static final int MAX_KEYS = 32;

    private LogText() {}

    /** {@code text} in double quotes, escaped, cut to {@link #MAX_CHARS}; null as (none). */
    public static String quote(String text) {
        return text == null ? "(none)" : HostText.quote(text, MAX_CHARS);
    }

    /**
     * A message that may hold host text, cut to {@link #MESSAGE_MAX_CHARS} and with every character
     * that could break or steer a line escaped, but its quotes and backslashes as they are: the
     * host text in a refusal's reason is quoted already ({@code no such user "bad\nuser"}), and
     * escaping it again showed {@code \"bad\\nuser\"}, a backslash the name never had.
     */
    public static String message(String text) {
        return HostText.unquoted(text, MESSAGE_MAX_CHARS);
    }

    /** The keys of "K=V" entries, each quoted, at most {@link #MAX_KEYS} of them; never a value. */
    public static String keys(List<String> entries) {
        StringBuilder b = new StringBuilder("[");
        int shown = Math.min(entries.size(), MAX_KEYS);
        for (int i = 0; i < shown; i++) {
            String entry = entries.get(i);
            int eq = entry.indexOf('=');
            b.append(i > 0 ? "," : "").append(quote(eq < 0 ? entry : entry.substring(0, eq)));
        }
        if (entries.size() > shown) {
            b.append(",... (").append(entries.size()).append(" keys)");
        }
        return b.append(']').toString();
    }

    /**
     * {@code message} with each {@code "text"} it quotes (as built elsewhere, verbatim) replaced by
     * {@link #quote}: for messages built by code that quotes host text in full.
     */
    public static String requote(String message, String... hostTexts) {
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
