package io.agentd.agent.transport;

/**
 * Text for a log line that may hold what the host sent (a refusal's message can quote a cmd, a
 * type, a path): a short prefix only. A line is written synchronously on the loop thread, and on the
 * guest's serial console a 4 MB line would stall every session.
 */
final class LogText {
    static final int MAX_CHARS = 300;

    private LogText() {}

    static String prefix(String text) {
        if (text == null || text.length() <= MAX_CHARS) {
            return text;
        }
        return text.substring(0, MAX_CHARS) + "... (" + text.length() + " chars)";
    }
}
