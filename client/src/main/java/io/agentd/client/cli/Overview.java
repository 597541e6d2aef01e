package io.agentd.client.cli;

/**
 * {@code agentctl --help}: what holds for every command (the address, durations, the shared exit
 * statuses) and one line per command, each made from that command's {@link CommandHelp}, which
 * alone has its options.
 */
final class Overview {
    /** The column where a command's summary starts; a longer synopsis puts it on a line of its own. */
    private static final int SUMMARY_COLUMN = 42;

    private static final String HEAD = """
            usage: agentctl [-s|--socket ADDRESS] [--ready-timeout DURATION] COMMAND [ARGS...]

            commands:
            """;

    private static final String TAIL = """

            agentctl COMMAND --help (or agentctl help COMMAND): its options, examples and exit status.

            The address is --socket ADDRESS, else $AGENTD_SOCKET, else\s""" + Agentctl.DEFAULT_SOCKET + """
            . ADDRESS is a unix
            socket PATH (an agent's, a relay's or a QEMU chardev's; unix:PATH also works),
            vsock:CID:PORT, or hvsock:UDS_PATH:PORT (Firecracker's and Cloud Hypervisor's vsock
            socket: agentctl sends CONNECT PORT and expects OK). Agent or relay is detected from
            the first bytes that arrive.
            --ready-timeout: how long to wait for the connection and the agent's ready message
            (default 10s).
            DURATION: a number and a unit: 500ms, 10s, 5m, 1h (no unit: seconds).

            exit status, every command: 125 when there is no agent to talk to (no socket, refused,
            no ready, connection lost) or agentctl itself failed ("agentctl: internal error: ...");
            1 when agentctl could not write its stdout or stderr (a full disk; "agentctl: error
            writing to standard output: why" on stderr; a closed pipe, | head, is no error); 2 for
            a bad command line; 0 otherwise. exec, attach, ps, cp and clock-sync have statuses of
            their own (exec: CMD's, and 123, 124, 126, 127): see their --help.
            """;

    private Overview() {}

    static String text() {
        StringBuilder text = new StringBuilder(HEAD);
        for (CommandHelp command : CommandHelp.values()) {
            line(text, command.synopsis(), command.summary());
        }
        line(text, "help [COMMAND]", "this text, or COMMAND's own");
        return text.append(TAIL).toString();
    }

    private static void line(StringBuilder text, String synopsis, String summary) {
        text.append("  ").append(synopsis);
        int column = 2 + synopsis.length();
        if (column + 2 > SUMMARY_COLUMN) {
            text.append('\n');
            column = 0;
        }
        text.append(" ".repeat(SUMMARY_COLUMN - column)).append(summary).append('\n');
    }
}
