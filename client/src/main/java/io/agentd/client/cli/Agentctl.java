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
 * its sessions, ping it, shut it down, wait for it to be ready.
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

    // A constant (no String.format): formatting it at class initialisation cost every run a
    // Formatter and its regular expressions, before the first frame.
    static final String USAGE = """
            usage: agentctl [-s|--socket ADDRESS] [--ready-timeout DURATION] COMMAND [ARGS...]

            commands:
              exec [OPTIONS] [--] CMD [ARGS...]  run CMD in the agent; output as it comes
                  -i, --interactive          forward this process's stdin (EOF ends the input);
                                             any amount, at the pace the command reads it
                  -t, --tty                  run in a PTY the size of this terminal; resizes
                                             follow SIGWINCH. With -i the terminal goes raw until
                                             the command ends (every key, ^C too, goes to it, but
                                             the detach keys); without -i it stays as it is (^C
                                             stops agentctl and, through it, the command)
                  --detach-keys KEYS         with -it: the keys that leave the command running
                                             and end agentctl (0), which prints how to attach
                                             again (default ctrl-p,ctrl-q; "" for none; keys:
                                             ctrl-a..ctrl-z, ctrl-@ [ \\ ] ^ _, or a character)
                  --sig-proxy=false          SIGINT, SIGTERM and SIGHUP to agentctl (^C at a
                                             terminal that is not raw) leave the command
                                             running as the detach keys do, instead of being
                                             passed on to it (default true)
                  -e, --env K=V              set an environment variable (repeatable)
                  -w, --workdir DIR          working directory
                  -u, --user USER[:GROUP]    user (name or uid) and group to run as
                  --rlimit NAME=SOFT[:HARD]  resource limit (repeatable); NAME is one of cpu fsize
                                             data stack core rss nproc nofile memlock as locks
                                             sigpending msgqueue nice rtprio rttime; a value is a
                                             number or "unlimited"; HARD defaults to SOFT
                  --timeout DURATION         the agent stops CMD after this long (SIGTERM to its
                                             process group, then SIGKILL)
                  --profile NAME             security profile: default, restricted or strict
                                             (docs/SECURITY.md); only one at least as strict as
                                             the agent's is accepted
                  --memory BYTES             memory limit of CMD's cgroup (memory.max; 512m, 2g:
                                             binary units); refused by an agent without the
                                             memory controller
                  --pids N                   task limit of CMD's cgroup (pids.max); refused by an
                                             agent without the pids controller
                  --stats                    after CMD, print on stderr the CPU time, peak memory
                                             and OOM kill the agent counted
                  -d, --detach               start CMD as a detachable session, print its session
                                             number and exit 0: CMD runs on after agentctl ends, its
                                             output kept by the agent for attach (not with -i
                                             or --stats)
              ps                             list the agent's sessions (of every connection):
                                             SESSION PID STATE EXIT TTY USER STARTED OUT KEPT
                                             ATTACHED CMD; KEPT is the output range still kept
              attach [--from OFFSET] [-i] [-t] [--detach-keys KEYS] [--sig-proxy=false] SESSION
                                             become the host of SESSION (from exec --detach, or
                                             kept after its host left): its kept output from
                                             OFFSET (default: the oldest byte kept), then live
                                             output and its exit status, as exec; -i, -t,
                                             --detach-keys and --sig-proxy as for exec. One host
                                             at a time: refused (126) while another is
                                             attached. A line on stderr says how many bytes
                                             asked for were no longer kept. Signals and a closed
                                             stdout reach SESSION as for exec; to leave it
                                             running: the detach keys (-it), or a signal under
                                             --sig-proxy=false
              cp [-a] [-u USER[:GROUP]] SRC... DST
                                             copy files and directories (recursively, links
                                             as links) between the host and the guest; a guest
                                             path is written :PATH (e.g. :/etc/hosts); - as SRC
                                             reads a tar stream from stdin into the guest
                                             directory DST (members that would land outside it,
                                             also through a link the tar made, are refused), -
                                             as DST writes a tar of the guest's SRC to stdout.
                                             Several SRC: DST is a directory.
                  -a, --archive              keep modes exactly and modification times (without
                                             it: modes less the umask, times of the copy)
                  -u, --user USER[:GROUP]    the guest side is read and written as this user
              ping [--count N] [--interval DURATION]
                                             print the round-trip time to the agent, N times
                                             (default 1), each ping DURATION after the last pong
                                             (default 1s); when N > 1 then the min/avg/max, also
                                             after a failed ping or ^C
              shutdown                       ask the agent to shut down
              wait-ready [--timeout DURATION]
                                             wait until the socket exists and the agent is ready
                                             (default 60s), then print its version and start-up
                                             times; for scripts that boot a VM
              relay --port PORT_SOCKET --listen SOCKET [--port-wait DURATION]
                    [--ready-warning DURATION] [--qmp QMP_SOCKET]
                                             share one agent among up to 128 clients: connect to
                                             the VM's virtio-serial chardev socket PORT_SOCKET
                                             (waiting up to --port-wait, default 30s, for it) and
                                             serve clients on SOCKET (0600). Runs until the VM
                                             goes away (exit 1) or it is stopped (SIGTERM). Says
                                             so on stderr when the agent is not ready by
                                             --ready-warning (default 60s). With --qmp, QEMU's
                                             QMP socket, it also survives an agent that dies in
                                             the middle of a frame (see docs/DESIGN.md, Relay)

            The address is --socket ADDRESS, else $AGENTD_SOCKET, else\s""" + DEFAULT_SOCKET + """
            . ADDRESS is a unix
            socket PATH (an agent's, a relay's or a QEMU chardev's; unix:PATH also works),
            vsock:CID:PORT, or hvsock:UDS_PATH:PORT (Firecracker's and Cloud Hypervisor's vsock
            socket: agentctl sends CONNECT PORT and expects OK). Agent or relay is detected from
            the first bytes that arrive.
            --ready-timeout: how long to wait for the connection and the agent's ready message
            (default 10s).
            DURATION: a number and a unit: 500ms, 10s, 5m, 1h (no unit: seconds).

            exit status: exec, attach: CMD's own (128+N when signal N killed it), 126 when CMD could
            not run or the agent refused the request (attach: an unknown session, one attached to
            another host) or does not offer it (--profile, --detach, attach to an agent without
            that feature; ps too), 127 when CMD was not found, 0 when the detach keys (or a signal under
            --sig-proxy=false) left CMD running; exec --detach: 0 once CMD runs. 123 when CMD
            exited 0 but did not get all of its stdin (-i: the agent reported a stdin error, or
            CMD ended before agentctl sent all of its input: "agentctl: stdin not delivered in
            full: ERRNO: why" on stderr; or agentctl could not read its own stdin,
            "agentctl: cannot read stdin: why"; when CMD failed, its own status stands and
            the message is still printed). 124 when --timeout stopped CMD
            (as with timeout(1); a line on stderr says so). cp: 1 when any item could not
            be copied (each reported on stderr; the rest is copied) or stdout could not be
            written; 141, and no message, when the reader of its tar left (| head). Any command: 1 when agentctl could not write its stdout or stderr (a full
            disk; "agentctl: error writing to standard output: why" on stderr): exec and attach
            stop CMD with SIGPIPE as for a closed pipe, and CMD's own status stands when it
            failed otherwise (not 0, not 141); a closed pipe (| head) is no error: CMD gets
            SIGPIPE and its status stands. 125 when there is no agent to talk to (no socket,
            refused, no ready, connection lost; for cp also an agent silent for 60 s, which
            stops the copy) or agentctl itself failed ("agentctl: internal error: ..."), 2 for a
            bad command line, 0 otherwise.
            """;

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
                        out.print(USAGE);
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
            if (!rest.isEmpty() && (rest.get(0).equals("--help") || rest.get(0).equals("-h"))) {
                out.print(USAGE); // `agentctl exec --help`: every command's options are in the one text
                return 0;
            }
            if (command.equals("relay")) {
                return RelayCommand.parse(rest).run(err);
            }
            Agentctl ctl = new Agentctl(parseAddress(socket, socketSetting), readyTimeout, err);
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
                case "shutdown" -> {
                    noArgs("shutdown", rest);
                    yield ctl.shutdown();
                }
                case "wait-ready" -> ctl.waitReady(out, waitReadyTimeout(rest));
                case "help" -> {
                    out.print(USAGE);
                    yield 0;
                }
                default -> throw new UsageException("unknown command '" + command + "'");
            };
        } catch (UsageException e) {
            // The error alone: the whole usage after it would push it off the screen. Each error is
            // one line whatever it names (an argument, a --socket path with a newline in it).
            err.println("agentctl: " + ControlChars.escape(e.getMessage()));
            err.println("Try 'agentctl --help' for the commands and their options.");
            return EXIT_USAGE;
        } catch (Unavailable e) {
            err.println("agentctl: " + ControlChars.escape(e.getMessage()));
            return EXIT_UNAVAILABLE;
        } catch (RuntimeException e) {
            // A bug of agentctl's (or a case it does not handle): one line and its own failure's
            // status rather than a stack trace and the JVM's 1, which a script takes for cp's "an item failed".
            err.println("agentctl: internal error: " + String.valueOf(e).replace('\n', ' '));
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

    /**
     * Retries until the agent is ready: the socket may not exist yet, or refuse, or (a QEMU chardev)
     * accept long before the guest's agent is up, so only core.ready counts.
     */
    private int waitReady(PrintStream out, Duration timeout) throws Unavailable {
        long deadline = Timeouts.deadline(timeout); // saturates: a timeout of centuries does not overflow
        String lastProblem = "no agent socket at " + address;
        while (true) {
            long left = Timeouts.left(deadline);
            if (left <= 0) {
                throw new Unavailable("no agent ready at " + address + " within " + human(timeout)
                        + " (last: " + lastProblem + ")");
            }
            try (AgentClient client = AgentClient.connect(address, Duration.ofNanos(left))) {
                out.println(describeReady(client.ready()));
                return 0;
            } catch (IOException e) {
                lastProblem = describeConnectFailure(e);
            } catch (TimeoutException e) {
                lastProblem = "connected, but the agent sent no ready message";
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

    /** One line for boot scripts: the agent's version and its start-up times since kernel boot. */
    private String describeReady(Ready ready) {
        if (ready == null) {
            return "ready: the agent at " + address + " answered a ping (its ready message was missed: no timings)";
        }
        return String.format(Locale.ROOT,
                "ready: %s at %s; since kernel boot: agent started %.3f s, main %.3f s, ready %.3f s",
                ready.agentVersion() == null ? "agent" : "agentd " + ready.agentVersion(), address,
                ready.bootTimeNs() / 1e9, ready.initTimeNs() / 1e9, ready.readyTimeNs() / 1e9);
    }

    static String human(Duration d) {
        return io.agentd.client.Timeouts.text(d);
    }
}
