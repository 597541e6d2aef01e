package io.agentd.client.cli;

import io.agentd.client.AgentClient;
import io.agentd.client.AgentErrorException;
import io.agentd.client.AgentException;
import io.agentd.client.ExecFailedException;
import io.agentd.client.ExecSession;
import io.agentd.client.ExitStatus;
import io.agentd.client.FeatureNotOfferedException;
import io.agentd.client.OutputListener;
import io.agentd.client.SessionDetachedException;
import io.agentd.client.StdinNotDeliveredException;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ResourceUsage;
import io.agentd.protocol.payload.SessionDetached;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * {@code agentctl exec} and {@code agentctl attach}: one session, wired to this process's stdin,
 * stdout, stderr and terminal. They differ only in how the session is opened ({@link Opener}).
 *
 * <p>This class is the command's flow, from connecting to the exit status; each part it wires lives
 * in a class of its own:
 * <ul>
 *   <li>{@link CommandOutput}: the command's output to our stdout and stderr, and the stop of a
 *       command whose output has nowhere to go;
 *   <li>{@link StopSignals}: SIGINT, SIGTERM and SIGHUP, passed on or detaching, with
 *       {@link AgentAnswerWatch} giving up on an agent that no longer answers after one;
 *   <li>{@link TimeoutOverrunWatch}: giving up on an agent that does not report the end of a
 *       command past its --timeout;
 *   <li>{@link StdinPump}: -i, the local stdin into the session (detach keys, ^D resends);
 *   <li>{@link LocalTerminal} (raw mode and its restore) and {@link WindowSizeFollower} (SIGWINCH);
 *   <li>{@link UserDetach}: asking the agent to detach, for the keys and the signals;
 *   <li>{@link ExitStatuses} and {@link StartRefusals}: the status agentctl exits with.
 * </ul>
 */
final class ExecCommand {
    /** Opens the session on a connection, its output going to {@code listener}. */
    interface Opener {
        /** @param size the local terminal's rows and cols with -t, else null */
        ExecSession open(AgentClient client, int[] size, OutputListener listener) throws IOException;
    }

    /**
     * How the user leaves the session running instead of ending it.
     *
     * @param detachKeys --detach-keys, checked ("" for none): watched for while the terminal is raw
     * @param sigProxy --sig-proxy: true passes SIGINT, SIGTERM and SIGHUP on to the command; false
     *     makes them detach (docker's --sig-proxy=false), the one way out of a session whose
     *     terminal is not raw short of SIGKILL
     */
    record LeaveRunning(String detachKeys, boolean sigProxy) {}

    private final boolean interactive;
    private final boolean tty;
    private final boolean stats;
    /** What the timeout line names: the command. */
    private final String what;
    private final Duration timeout;
    /** exec: without -i the command's stdin is closed, as with </dev/null; attach leaves it alone. */
    private final boolean closeStdinUnlessInteractive;
    private final LeaveRunning leave;
    private final Opener opener;
    private final PrintStream err;
    /**
     * Completed when open returns, with its session (null when it failed); output and signals may
     * come before that ({@link CommandOutput#write}, {@link StopSignals}).
     */
    private final CompletableFuture<ExecSession> opened = new CompletableFuture<>();
    /** Writes the command's output here, and stops the command when it has nowhere to go. */
    private final CommandOutput output = new CommandOutput(opened);
    /** -i: copies agentctl's stdin into the session. */
    private final StdinPump stdin;

    /** {@code agentctl exec}: a new session for the options' command. */
    ExecCommand(ExecOptions options, PrintStream err) {
        this(options.interactive(), options.tty(), options.stats(), options.cmd(), options.timeout(),
                (client, size, listener) -> {
                    ExecRequest request = options.toRequest(size, LocalTermEnv.of(options.tty()));
                    // Without -i or -t the command reads nothing: its end of input goes with the request.
                    return options.interactive() || options.tty() ? client.start(request, listener)
                            : client.startWithoutInput(request, listener);
                }, true,
                new LeaveRunning(options.detachKeys(), options.sigProxy()), err);
    }

    ExecCommand(boolean interactive, boolean tty, boolean stats, String what, Duration timeout, Opener opener,
            boolean closeStdinUnlessInteractive, LeaveRunning leave, PrintStream err) {
        this.closeStdinUnlessInteractive = closeStdinUnlessInteractive;
        this.leave = leave;
        this.interactive = interactive;
        this.tty = tty;
        this.stats = stats;
        this.what = what;
        this.timeout = timeout;
        this.opener = opener;
        this.err = err;
        this.stdin = new StdinPump(err);
    }

    int run(Connector connector) throws Agentctl.Unavailable {
        LocalTerminal terminal = tty ? LocalTerminal.onStdin() : null;
        int[] size = LocalTerminal.sizeOf(terminal);
        try (AgentClient client = connector.connect()) {
            // Before the session opens: its first output can be written before open returns, and a
            // signal sent on seeing it must find these, not the JVM's default exit (130 for SIGINT).
            StopSignals signals = new StopSignals(opened, output, what, err);
            if (leave.sigProxy()) {
                signals.forwardTo(client);
            } else {
                signals.detachOn(client.agentDetachesSessions());
            }
            ExecSession session = null;
            try {
                session = opener.open(client, size, output::write);
            } finally {
                opened.complete(session);
            }
            output.sessionOpened(session);
            if (timeout != null) {
                new TimeoutOverrunWatch(timeout, client, output, what, err).start(session);
            }
            DetachKeys keys = null;
            boolean raw = false; // a line on stderr then needs its own carriage return
            boolean followTerminal = terminal != null && session.isTty();
            if (terminal != null && !followTerminal) {
                // attach -t to a session that runs on pipes: a raw terminal would send Enter as a CR
                // its reads never end a line at, ^C as a byte and nothing back to show what is typed,
                // and its window's sizes would be refused. The terminal stays as it is (-i alone).
                err.println("agentctl: " + what + " has no PTY: -t is ignored, the terminal is left as it is");
            }
            if (followTerminal) {
                WindowSizeFollower.follow(terminal, session, size); // before going raw: a resize from then on is seen
                if (localTerminalGoesRaw(tty, interactive, ProcessGroups.inForeground())) {
                    terminal.enterRaw();
                    raw = true;
                    // Every key goes to the command now; only these leave it running instead.
                    keys = client.agentDetachesSessions() ? DetachKeys.of(leave.detachKeys()) : null;
                }
            }
            if (interactive) {
                stdin.start(session, keys, tty && terminal == null, raw);
            } else if (!tty && closeStdinUnlessInteractive) {
                session.closeStdin(); // like a command run with </dev/null
            }
            ExitStatus status = awaitExit(session);
            if (terminal != null) {
                terminal.restore();
            }
            if (stats) {
                err.println(statsLine(status));
            }
            if (status.timedOut()) {
                err.println("agentctl: " + what + " ran past "
                        + (timeout == null ? "its timeout" : "--timeout " + Agentctl.human(timeout))
                        + "; the agent stopped it");
            }
            StdinNotDeliveredException notDelivered = session.stdinNotDelivered();
            // The reason holds the agent's errno name and message: escaped, on the one line.
            String notDeliveredWhy = notDelivered != null ? ControlChars.fromAgent(notDelivered.reason())
                    : stdin.inputLeftOver(session, tty);
            if (notDeliveredWhy != null) {
                err.println("agentctl: stdin not delivered in full: " + notDeliveredWhy);
            }
            boolean outputFailed = output.reportFailure(err);
            int code = ExitStatuses.commandStatus(status.code(), output.killedForBrokenOutput());
            if (code < 0 || code > 255) {
                // An i32 on the wire; the shell would take it modulo 256 (256 is success).
                err.println("agentctl: the agent reported exit status " + code + " for " + what
                        + ", which no process has (0 to 255)");
                return Agentctl.EXIT_UNAVAILABLE;
            }
            return status.timedOut() ? Agentctl.EXIT_TIMED_OUT
                    : ExitStatuses.exitStatus(code, notDeliveredWhy != null || stdin.readFailed(), outputFailed);
        } catch (SessionDetachedException e) {
            restore(terminal);
            SessionDetached d = e.detached();
            err.println("agentctl: detached from session " + Long.toUnsignedString(d.session()) + ", which runs on;"
                    + " agentctl attach --from " + Long.toUnsignedString(d.offset()) + " "
                    + Long.toUnsignedString(d.session()) + " goes on from here");
            return output.reportFailure(err) ? Agentctl.EXIT_OUTPUT_FAILED : 0;
        } catch (ExecFailedException | AgentErrorException | FeatureNotOfferedException e) {
            // Not run, or refused, by the agent or (a feature its ready does not list) by the client for it.
            restore(terminal);
            return StartRefusals.report(e, err);
        } catch (IOException e) {
            restore(terminal);
            throw new Agentctl.Unavailable(e.getMessage());
        } finally {
            // Each path above restores before it prints (a raw terminal prints no carriage returns);
            // this covers the rest (an unchecked exception). Restoring twice changes nothing.
            restore(terminal);
        }
    }

    /**
     * The local terminal goes raw only when its keys are forwarded (-i with -t): without -i nothing
     * is read from it, so ^C must stay a signal to agentctl (which passes it on to the command). A
     * process in a background group leaves the mode alone: changing it would stop us with SIGTTOU.
     */
    static boolean localTerminalGoesRaw(ExecOptions options, boolean inForeground) {
        return localTerminalGoesRaw(options.tty(), options.interactive(), inForeground);
    }

    static boolean localTerminalGoesRaw(boolean tty, boolean interactive, boolean inForeground) {
        return tty && interactive && inForeground;
    }

    private static void restore(LocalTerminal terminal) {
        if (terminal != null) {
            terminal.restore();
        }
    }

    /** What --stats prints after the command: the agent's counts, "unknown" for what it did not say. */
    static String statsLine(ExitStatus status) {
        ResourceUsage u = status.usage();
        return "agentctl: stats: cpu_user_us=" + known(u.cpuUserUs()) + " cpu_system_us=" + known(u.cpuSystemUs())
                + " memory_peak_bytes=" + known(u.memoryPeakBytes()) + " oom_killed=" + known(u.oomKilled());
    }

    private static String known(Object value) {
        return value == null ? "unknown" : value.toString();
    }

    private static ExitStatus awaitExit(ExecSession session) throws AgentException {
        while (true) {
            try {
                return session.onExit().get();
            } catch (ExecutionException e) {
                throw ((AgentException) e.getCause()).forCaller();
            } catch (InterruptedException e) {
                // nobody interrupts the main thread on purpose; keep waiting for the session's end
            }
        }
    }
}
