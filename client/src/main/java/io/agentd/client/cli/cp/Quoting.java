package io.agentd.client.cli.cp;

import io.agentd.client.cli.ControlChars;

/** Paths in cp's messages: in single quotes, control characters shown as escapes (a newline as \n). */
final class Quoting {
    private Quoting() {}

    static String quote(String path) {
        return '\'' + ControlChars.escape(path) + '\'';
    }
}
