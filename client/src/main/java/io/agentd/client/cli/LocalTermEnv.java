package io.agentd.client.cli;

import java.util.List;

/**
 * The TERM a -t session gets: the local one, so that programs in the remote PTY draw for the
 * terminal they are shown on (the agent's default, xterm-256color, is wrong for a linux console or
 * screen). The same for {@code exec -t} and {@code exec --detach -t}: the detached session is
 * attached from a terminal like this one. An -e TERM=... of the command line wins
 * ({@link ExecOptions#toRequest}).
 */
final class LocalTermEnv {
    private LocalTermEnv() {}

    /** {@link #of(boolean, String)} with this process's $TERM. */
    static List<String> of(boolean tty) {
        return of(tty, System.getenv("TERM"));
    }

    /** "TERM=" + {@code term} with -t; nothing without -t, or when there is no local TERM. */
    static List<String> of(boolean tty, String term) {
        return tty && term != null && !term.isEmpty() ? List.of("TERM=" + term) : List.of();
    }
}
