package io.agentd.client.cli;

import io.agentd.client.AgentClient;
import io.agentd.client.AgentErrorException;
import io.agentd.client.FeatureNotOfferedException;
import io.agentd.protocol.HostText;
import io.agentd.protocol.payload.SessionInfo;
import io.agentd.protocol.payload.SessionListResult;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;

/**
 * {@code agentctl ps}: every session of the agent (of every connection) as a table, one line each:
 * SESSION PID STATE EXIT TTY USER STARTED OUT KEPT ATTACHED CMD.
 */
final class PsCommand {
    private static final Duration LIST_WAIT = Duration.ofSeconds(10);
    private static final DateTimeFormatter STARTED =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'").withZone(ZoneOffset.UTC);
    static final List<String> HEADER =
            List.of("SESSION", "PID", "STATE", "EXIT", "TTY", "USER", "STARTED", "OUT", "KEPT", "ATTACHED", "CMD");
    /** A command line is cut here in the table (the agent's list may hold more). */
    private static final int CMD_MAX_CHARS = 80;

    private PsCommand() {}

    /** 126 when the agent refuses the list (core.error) or does not keep sessions. */
    static int run(Connector connector, PrintStream out, PrintStream err) throws Agentctl.Unavailable {
        try (AgentClient client = connector.connect()) {
            SessionListResult list = client.sessionList(LIST_WAIT);
            out.print(table(list.sessions()));
            if (list.omitted() > 0) {
                err.println("agentctl: ps: " + list.omitted() + " more session(s) not listed: the agent's answer"
                        + " holds the oldest, as many as fit in one frame");
            }
            return 0;
        } catch (AgentErrorException | FeatureNotOfferedException e) {
            err.println("agentctl: ps: " + ControlChars.fromAgent(e.getMessage()));
            return Agentctl.EXIT_CANNOT_RUN;
        } catch (IOException | TimeoutException e) {
            throw new Agentctl.Unavailable("ps: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Agentctl.Unavailable("ps: interrupted");
        }
    }

    /** The table: a header, then one row per session, columns padded to their widest cell. */
    static String table(List<SessionInfo> sessions) {
        List<List<String>> rows = new ArrayList<>();
        rows.add(HEADER);
        for (SessionInfo s : sessions) {
            rows.add(row(s));
        }
        int[] widths = new int[HEADER.size()];
        for (List<String> row : rows) {
            for (int c = 0; c < row.size(); c++) {
                widths[c] = Math.max(widths[c], row.get(c).length());
            }
        }
        StringBuilder b = new StringBuilder();
        for (List<String> row : rows) {
            for (int c = 0; c < row.size(); c++) {
                String cell = row.get(c);
                b.append(cell);
                if (c < row.size() - 1) {
                    b.append(" ".repeat(widths[c] - cell.length() + 2));
                }
            }
            b.append('\n');
        }
        return b.toString();
    }

    /**
     * One session's cells. EXIT is the code, or "-" while running (a signal shows as its code with
     * the signal, "137 (sig 9)"); KEPT is the byte range still kept, "start-end"; OUT counts every
     * byte it wrote, with the dropped ones after a slash when there are any.
     */
    static List<String> row(SessionInfo s) {
        String exit = s.exitCode() == null ? "-"
                : s.exitCode() + (s.signal() == null ? "" : " (sig " + s.signal() + ")");
        String outCell = Long.toUnsignedString(s.bytesOut()) + (s.dropped() == 0 ? ""
                : " (" + Long.toUnsignedString(s.dropped()) + " dropped)");
        return List.of(Long.toUnsignedString(s.session()), Long.toString(s.pid()), printable(s.state()), exit,
                s.tty() ? "yes" : "no", s.user() == null ? "-" : printable(s.user()),
                STARTED.format(Instant.ofEpochMilli(s.startedUnixMs())), outCell,
                Long.toUnsignedString(s.retainedStart()) + "-" + Long.toUnsignedString(s.retainedEnd()),
                s.attached() ? "yes" : "no", commandLine(s));
    }

    private static String commandLine(SessionInfo s) {
        StringBuilder b = new StringBuilder(printable(s.cmd()));
        for (String a : s.args()) {
            b.append(' ').append(printable(a));
        }
        return b.length() <= CMD_MAX_CHARS ? b.toString() : b.substring(0, CMD_MAX_CHARS - 3) + "...";
    }

    /**
     * The agent's text in a cell (a command's words, a user's name, a state): a character the
     * agent's quoting would escape ({@link HostText#printable}: a newline in an argument would break
     * the table, U+202E reverse what follows it on the terminal) is shown as '?', one column.
     */
    static String printable(String text) {
        StringBuilder b = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> b.appendCodePoint(HostText.printable(cp) ? cp : '?'));
        return b.toString();
    }
}
