package io.agentd.client.cli.cp;

/** Paths in cp's messages: in single quotes, control characters shown as escapes (a newline as \n). */
final class Quoting {
    private Quoting() {}

    static String quote(String path) {
        StringBuilder s = new StringBuilder(path.length() + 2).append('\'');
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            switch (c) {
                case '\n' -> s.append("\\n");
                case '\t' -> s.append("\\t");
                case '\r' -> s.append("\\r");
                case '\\' -> s.append("\\\\");
                default -> {
                    if (Character.isISOControl(c)) {
                        s.append(String.format("\\x%02x", (int) c));
                    } else {
                        s.append(c);
                    }
                }
            }
        }
        return s.append('\'').toString();
    }
}
