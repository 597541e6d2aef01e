package io.agentd.client.cli;

import io.agentd.client.AgentClient;
import io.agentd.client.AgentException;
import io.agentd.client.Timeouts;
import io.agentd.client.transport.AgentAddress;
import io.agentd.protocol.payload.Ready;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.SocketException;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeoutException;

/**
 * The agentctl command: run commands in an agent (attached, or detached and attached to later), list
 * its sessions, ping it, set the guest's clock, shut it down, wait for it to be ready.
 */
public final class Agentctl {
    /**
     * agentctl could not write its stdout or stderr (a full disk; not a closed pipe): one line says
     * why ("agentctl: error writing to standard output: ..."), as cat(1) says it and exits 1.
     */
    static final int EXIT_OUTPUT_FAILED = 1;
    static final int EXIT_USAGE = 2;
    /** exec: the command succeeded, but the agent did not deliver all of its stdin (as xargs' 123: a part failed). */
    static final int EXIT_STDIN_NOT_DELIVERED = 123;
    /** The agent stopped the command at its --timeout, whatever status that left (as timeout(1)). */
    static final int EXIT_TIMED_OUT = 124;
    /** agentctl's own failure: no agent at the socket, no core.ready, connection lost (as docker's 125). */
    static final int EXIT_UNAVAILABLE = 125;
    static final int EXIT_CANNOT_RUN = 126;
    static final int EXIT_NOT_FOUND = 127;

    static final String DEFAULT_SOCKET = "/run/agentd/agentd.sock";
    private static final Duration DEFAULT_READY_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration DEFAULT_WAIT_READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration SHUTDOWN_CLOSE_WAIT = Duration.ofSeconds(5);

    private final AgentAddress address;
    /** The unix socket of the address; null for vsock (no path to check when it fails). */
    private final Path socket;
    private final Duration readyTimeout;
    private final PrintStream err;

    private Agentctl(AgentAddress address, Duration readyTimeout, PrintStream err) {
        this.address = address;
        this.socket = address instanceof AgentAddress.Unix u ? u.path()
                : address instanceof AgentAddress.HybridVsock h ? h.uds() : null;
        this.readyTimeout = readyTimeout;
        this.err = err;
    }

    public static void main(String[] args) {
        String unreadable = ArgumentBytes.unreadable(args);
        if (unreadable != null) {
            System.err.println(unreadable);
            System.exit(EXIT_USAGE);
        }
        StartWarmUp.start(); // one-time set-up every command meets after its connect, on another core meanwhile
        // What the commands print goes to file descriptor 1 through a stream that keeps its failure
        // (System.out swallows it: `agentctl ps > /dev/full` said nothing and exited 0), and waits
        // for a non-blocking stdout that is full instead of failing (EAGAIN).
        LocalOutput stdout = LocalOutput.stdout();
        PrintStream out = new PrintStream(new BufferedOutputStream(stdout, 8192), false, stdoutCharset());
        // cp's tar goes to file descriptor 1 through a stream that throws when a write fails.
        int status = run(Arrays.asList(args), System.getenv("AGENTD_SOCKET"), out, LocalOutput.stdout(), System.err);
        out.flush();
        System.exit(finalStatus(status, out, stdout, System.err));
    }

    /**
     * {@code status}, unless what was printed through {@code out} could not be written: then one
     * line on {@code err} says why, and a status of 0 becomes {@link #EXIT_OUTPUT_FAILED}. A broken
     * pipe (`agentctl ps | head -1`) is no error and is not reported.
     */
    static int finalStatus(int status, PrintStream out, LocalOutput fd, PrintStream err) {
        if (!out.checkError()) {
            return status;
        }
        IOException failure = fd.failure();
        if (failure != null && LocalOutput.isBrokenPipe(failure)) {
            return status;
        }
        err.println("agentctl: " + (failure != null ? fd.describe(failure) : "error writing to " + fd.name()));
        err.flush();
        return status == 0 ? EXIT_OUTPUT_FAILED : status;
    }

    /** The charset System.out would have used (a console's, else the default). */
    private static Charset stdoutCharset() {
        String name = System.getProperty("sun.stdout.encoding");
        try {
            return name != null ? Charset.forName(name) : Charset.defaultCharset();
        } catch (IllegalArgumentException e) {
            return Charset.defaultCharset();
        }
    }

    static int run(List<String> argv, String socketFromEnv, PrintStream out, PrintStream err) {
        return run(argv, socketFromEnv, out, out, err);
    }

    /** @param rawOut where cp writes a tar (`cp :PATH -`): a stream that throws when a write fails */
    static int run(List<String> argv, String socketFromEnv, PrintStream out, OutputStream rawOut, PrintStream err) {
        boolean fromEnv = socketFromEnv != null && !socketFromEnv.isEmpty();
        String socket = fromEnv ? socketFromEnv : DEFAULT_SOCKET;
        // What an address that is not one is blamed on: the variable the user set, unless --socket replaced it.
        String socketSetting = fromEnv ? "AGENTD_SOCKET" : "--socket";
        Duration readyTimeout = DEFAULT_READY_TIMEOUT;
        String commandWithHelp = null;
        int i = 0;
        try {
            while (i < argv.size() && argv.get(i).startsWith("-")) {
                OptionArg opt = OptionArg.split(argv.get(i), argv, i);
                switch (opt.name()) {
                    case "--socket", "-s" -> {
                        socket = opt.value();
                        socketSetting = "--socket";
                    }
                    case "--ready-timeout" -> readyTimeout = Durations.parse("--ready-timeout", opt.value());
                    case "-h", "--help" -> {
                        out.print(Overview.text());
                        return 0;
                    }
                    default -> throw new UsageException("unknown option " + argv.get(i));
                }
                i += opt.consumed();
            }
            if (i >= argv.size()) {
                throw new UsageException("no command given");
            }
            String command = argv.get(i);
            List<String> rest = argv.subList(i + 1, argv.size());
            // Only right after the command: later, -h or --help may be CMD's own (exec ls --help).
            if (!rest.isEmpty() && (rest.get(0).equals("--help") || rest.get(0).equals("-h"))) {
                return help(command, out);
            }
            if (command.equals("help")) {
                return help(rest, out); // needs no address: a bad $AGENTD_SOCKET does not keep the help away
            }
            if (command.equals("relay")) {
                commandWithHelp = command;
                return RelayCommand.parse(rest).run();
            }
            Agentctl ctl = new Agentctl(parseAddress(socket, socketSetting), readyTimeout, err);
            commandWithHelp = command; // a usage error from here on is in the command's arguments
            return switch (command) {
                case "exec" -> {
                    ExecOptions options = ExecOptions.parse(rest);
                    yield options.detach() ? new DetachCommand(options, out, err).run(ctl::connect)
                            : new ExecCommand(options, err).run(ctl::connect);
                }
                case "ps" -> {
                    noArgs("ps", rest);
                    yield PsCommand.run(ctl::connect, out, err);
                }
                case "attach" -> AttachCommand.command(AttachCommand.parse(rest), err).run(ctl::connect);
                // cp's tar goes to a stream that throws when a write fails (a PrintStream, which
                // swallows it, is checked after each write: a full disk noticed either way).
                case "cp" -> CpCommand.run(rest, ctl::connect, System.in, rawOut, err);
                case "ping" -> PingCommand.run(PingCommand.parse(rest), ctl::connect, ctl.address.toString(), out);
                case "clock-sync" -> ClockSyncCommand.run(ClockSyncCommand.parse(rest), ctl::connect,
                        ctl.address.toString(), out, err);
                case "shutdown" -> {
                    noArgs("shutdown", rest);
                    yield ctl.shutdown();
                }
                case "wait-ready" -> ctl.waitReady(out, waitReadyTimeout(rest));
                default -> throw new UsageException("unknown command '" + command + "'");
            };
        } catch (UsageException e) {
            // The error alone: the whole usage after it would push it off the screen. Each error is
            // one line whatever it names (an argument, a --socket path with a newline in it).
            err.println("agentctl: " + ControlChars.oneLine(e.getMessage()));
            err.println(commandWithHelp != null && CommandHelp.of(commandWithHelp) != null
                    ? "Try 'agentctl " + commandWithHelp + " --help' for its options."
                    : "Try 'agentctl --help' for the commands.");
            return EXIT_USAGE;
        } catch (Unavailable e) {
            err.println("agentctl: " + ControlChars.oneLine(e.getMessage()));
            return EXIT_UNAVAILABLE;
        } catch (RuntimeException e) {
            // A bug of agentctl's (or a case it does not handle): one line and its own failure's
            // status rather than a stack trace and the JVM's 1, which a script takes for cp's "an item failed".
            err.println("agentctl: internal error: " + ControlChars.oneLine(String.valueOf(e)));
            return EXIT_UNAVAILABLE;
        }
    }

    /** @param setting where {@code text} came from, which the error names: "--socket" or "AGENTD_SOCKET" */
    private static AgentAddress parseAddress(String text, String setting) throws UsageException {
        try {
            return AgentAddress.parse(text);
        } catch (IllegalArgumentException e) {
            throw new UsageException(setting + ": " + e.getMessage());
        }
    }

    /** {@code agentctl help [COMMAND]}: the overview, or COMMAND's own help. */
    private static int help(List<String> rest, PrintStream out) throws UsageException {
        if (rest.size() > 1) {
            throw new UsageException("help takes one COMMAND at most (got " + String.join(" ", rest) + ")");
        }
        if (rest.isEmpty()) {
            out.print(Overview.text());
            return 0;
        }
        return help(rest.get(0), out);
    }

    /** {@code agentctl COMMAND --help}: COMMAND's own usage, options and examples. */
    private static int help(String command, PrintStream out) throws UsageException {
        if (command.equals("help")) {
            out.print(Overview.text());
            return 0;
        }
        CommandHelp help = CommandHelp.of(command);
        if (help == null) {
            throw new UsageException("unknown command '" + command + "'");
        }
        out.print(help.text());
        return 0;
    }

    private static void noArgs(String command, List<String> rest) throws UsageException {
        if (!rest.isEmpty()) {
            throw new UsageException(command + " takes no arguments (got " + String.join(" ", rest) + ")");
        }
    }

    private static Duration waitReadyTimeout(List<String> rest) throws UsageException {
        Duration timeout = DEFAULT_WAIT_READY_TIMEOUT;
        for (int i = 0; i < rest.size(); ) {
            OptionArg opt = OptionArg.split(rest.get(i), rest, i);
            if (!opt.name().equals("--timeout")) {
                throw new UsageException("wait-ready: unknown argument " + rest.get(i));
            }
            timeout = Durations.parse("--timeout", opt.value());
            i += opt.consumed();
        }
        return timeout;
    }

    /** No agent to talk to; the message says why and what to check. */
    static final class Unavailable extends Exception {
        private static final long serialVersionUID = 1L;

        Unavailable(String message) {
            super(message);
        }
    }

    /** Connects and waits for core.ready; every way that fails becomes one clear {@link Unavailable}. */
    AgentClient connect() throws Unavailable {
        try {
            return AgentClient.connect(address, readyTimeout);
        } catch (IOException e) {
            throw new Unavailable(describeConnectFailure(e));
        } catch (TimeoutException e) {
            throw new Unavailable("connected to " + address + " but the agent did not say it was ready within "
                    + human(readyTimeout) + " (is the agent up? agentctl wait-ready waits for it)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unavailable("interrupted while connecting to " + address);
        }
    }

    private String describeConnectFailure(IOException e) {
        if (socket == null || e instanceof AgentException) {
            // A transport's message that names the address already (vsock's) is not prefixed twice.
            String msg = String.valueOf(e.getMessage());
            return e instanceof AgentException || msg.contains(String.valueOf(address))
                    ? msg : "cannot connect to " + address + ": " + msg;
        }
        if (!Files.exists(socket)) {
            return "no agent socket at " + socket
                    + " (is agentd running? give --socket PATH or set AGENTD_SOCKET)";
        }
        if (!isSocket(socket)) {
            return socket + " is not a socket (give --socket PATH or set AGENTD_SOCKET)";
        }
        String msg = String.valueOf(e.getMessage());
        if (e instanceof SocketException && msg.toLowerCase(Locale.ROOT).contains("refused")) {
            return "connection refused at " + socket + " (nothing listens there: a stale socket?)";
        }
        if (e instanceof AgentException || msg.contains(String.valueOf(address))) {
            return msg; // a handshake's failure (hvsock) names the address already
        }
        return "cannot connect to " + address + ": " + msg;
    }

    private static boolean isSocket(Path path) {
        try {
            int mode = (Integer) Files.getAttribute(path, "unix:mode");
            return (mode & 0170000) == 0140000; // S_IFSOCK
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return true; // cannot tell: let the connect error speak
        }
    }


    private int shutdown() throws Unavailable {
        try (AgentClient client = connect()) {
            client.shutdown();
            if (!client.awaitClosed(SHUTDOWN_CLOSE_WAIT)) {
                err.println("agentctl: shutdown sent; the agent has not closed the connection after "
                        + human(SHUTDOWN_CLOSE_WAIT));
            }
            return 0;
        } catch (IOException e) {
            throw new Unavailable("shutdown: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unavailable("shutdown: interrupted");
        }
    }

    /** See {@link #waitReady}: an attempt with less time than this left does not name the last problem. */
    private static final long LAST_ATTEMPT_MIN_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(200);

    /**
     * Retries until the agent is ready: the socket may not exist yet, or refuse, or (a QEMU chardev)
     * accept long before the guest's agent is up, so only core.ready counts.
     */
    private int waitReady(PrintStream out, Duration timeout) throws Unavailable {
        long deadline = Timeouts.deadline(timeout); // saturates: a timeout of centuries does not overflow
        String lastProblem = "no agent socket at " + address;
        boolean tried = false;
        while (true) {
            long left = Timeouts.left(deadline);
            if (left <= 0) {
                throw new Unavailable("no agent ready at " + address + " within " + human(timeout)
                        + " (last: " + lastProblem + ")");
            }
            // An attempt left only the last moments fails on its own short deadline ("accepted no
            // connection within 0 ms", "no ready message"): it does not replace what a full attempt
            // found (a peer that speaks something else), which the line would otherwise misname.
            boolean fullAttempt = !tried || left >= LAST_ATTEMPT_MIN_NANOS;
            tried = true;
            try (AgentClient client = AgentClient.connect(address, Duration.ofNanos(left))) {
                out.println(describeReady(client.ready()));
                return 0;
            } catch (IOException e) {
                if (fullAttempt) {
                    lastProblem = describeConnectFailure(e);
                }
            } catch (TimeoutException e) {
                if (fullAttempt) {
                    lastProblem = "connected, but the agent sent no ready message";
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Unavailable("wait-ready: interrupted");
            }
            try {
                Thread.sleep(Math.max(0, Math.min(100, (deadline - System.nanoTime()) / 1_000_000)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Unavailable("wait-ready: interrupted");
            }
        }
    }

    /**
     * One line for boot scripts: the agent's version and its start-up times since kernel boot. The
     * version is the guest's text, escaped as all of it is (printed raw, it set the terminal's title
     * and cleared the screen); the times are u64 on the wire.
     */
    private String describeReady(Ready ready) {
        if (ready == null) {
            return "ready: the agent at " + address + " answered a ping (its ready message was missed: no timings)";
        }
        return String.format(Locale.ROOT,
                "ready: %s at %s; since kernel boot: agent started %.3f s, main %.3f s, ready %.3f s",
                ready.agentVersion() == null ? "agent" : "agentd " + ControlChars.fromAgent(ready.agentVersion()),
                address, seconds(ready.bootTimeNs()), seconds(ready.initTimeNs()), seconds(ready.readyTimeNs()));
    }

    /** Nanoseconds read as the u64 they are on the wire, in seconds. */
    private static double seconds(long unsignedNanos) {
        return Double.parseDouble(Long.toUnsignedString(unsignedNanos)) / 1e9;
    }

    static String human(Duration d) {
        return io.agentd.client.Timeouts.text(d);
    }
}
