package io.agentd.client.cli;

import io.agentd.client.AgentClient;
import io.agentd.client.ExecSession;
import io.agentd.client.OutputListener;
import io.agentd.protocol.payload.SessionAttached;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;

/**
 * {@code agentctl attach [--from OFFSET] [-i] [-t] SESSION}: becomes the host of a session (one
 * started with {@code exec --detach}, or kept after its host left) and runs like {@code exec} from
 * there: its kept output from OFFSET (default: the oldest byte still kept), live output, stdin with
 * -i (without it the session's stdin is left as it is: another attach may give it input), the
 * terminal with -t, and the session's exit status as agentctl's.
 */
final class AttachCommand {
    /** How long the agent gets to answer the attach. */
    private static final Duration ATTACH_WAIT = Duration.ofSeconds(30);

    /** The parsed command line. */
    record Options(boolean interactive, boolean tty, Long from, long session, String detachKeys, boolean sigProxy) {}

    private AttachCommand() {}

    static Options parse(List<String> argv) throws UsageException {
        boolean interactive = false;
        boolean tty = false;
        Long from = null;
        Long session = null;
        String detachKeys = DetachKeys.DEFAULT;
        boolean sigProxy = true;
        boolean optionsEnded = false;
        for (int i = 0; i < argv.size(); ) {
            String arg = argv.get(i);
            if (arg.equals("--") && !optionsEnded) {
                optionsEnded = true; // what follows is the SESSION, even if it starts with '-'
                i++;
                continue;
            }
            if (optionsEnded || !arg.startsWith("-") || arg.equals("-")) {
                if (session != null) {
                    throw new UsageException("attach: one SESSION only (got " + session + " and " + arg + ")");
                }
                session = number("SESSION", arg);
                i++;
                continue;
            }
            OptionArg opt = OptionArg.split(arg, argv, i);
            switch (opt.name()) {
                case "-i", "--interactive" -> interactive = opt.flag();
                case "-t", "--tty" -> tty = opt.flag();
                case "--from" -> from = number("--from", opt.value());
                case "--detach-keys" -> detachKeys = DetachKeys.checked(opt.value());
                case "--sig-proxy" -> sigProxy = opt.onOff();
                default -> {
                    if (opt.shortCluster() == null) {
                        throw new UsageException("attach: unknown option " + arg);
                    }
                    for (char c : opt.shortCluster().toCharArray()) {
                        switch (c) {
                            case 'i' -> interactive = true;
                            case 't' -> tty = true;
                            default -> throw new UsageException("attach: unknown flag -" + c + " in " + arg);
                        }
                    }
                }
            }
            i += opt.consumed();
        }
        if (session == null) {
            throw new UsageException("attach: no SESSION given (agentctl ps lists them)");
        }
        return new Options(interactive, tty, from, session, detachKeys, sigProxy);
    }

    private static long number(String what, String value) throws UsageException {
        try {
            return Long.parseUnsignedLong(value);
        } catch (NumberFormatException e) {
            boolean digits = !value.isEmpty() && value.chars().allMatch(c -> c >= '0' && c <= '9');
            // digits that do not parse are a number past the range, not "no number"
            throw new UsageException("attach: " + what + (digits
                    ? " " + value + " is out of range (at most " + Long.toUnsignedString(-1L) + ")"
                    : " is a number, not '" + value + "'"));
        }
    }

    /** The exec machinery with an attach for its opener. */
    static ExecCommand command(Options options, PrintStream err) {
        return new ExecCommand(options.interactive(), options.tty(), false, "session " + options.session(), null,
                (client, size, listener) -> open(client, options, size, listener, err), false,
                new ExecCommand.LeaveRunning(options.detachKeys(), options.sigProxy()), err);
    }

    /**
     * Attaches and waits for the agent's answer (a refusal is thrown from here, before anything is
     * wired); then says on stderr what was missed, and gives a PTY session the local terminal's size.
     */
    private static ExecSession open(AgentClient client, Options options, int[] size, OutputListener listener,
            PrintStream err) throws IOException {
        ExecSession session = client.attach(options.session(), options.from(), listener);
        try {
            session.awaitStarted(ATTACH_WAIT);
        } catch (TimeoutException e) {
            throw new IOException("attach: no answer from the agent within " + Agentctl.human(ATTACH_WAIT));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("attach: interrupted");
        }
        SessionAttached attached = session.attached();
        if (attached.missed() > 0) {
            err.println(missedLine(attached));
        }
        if (size != null && session.isTty()) {
            session.resize(size[0], size[1]);
        }
        return session;
    }

    /** The one plain line printed when output asked for was no longer kept. */
    static String missedLine(SessionAttached attached) {
        return "agentctl: " + attached.missed() + " bytes of session " + attached.session()
                + "'s output were no longer kept; its output follows from offset " + attached.from();
    }
}
