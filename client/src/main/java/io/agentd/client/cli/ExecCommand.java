package io.agentd.client.cli;

import io.agentd.client.AgentClient;
import io.agentd.client.AgentErrorException;
import io.agentd.client.AgentException;
import io.agentd.client.ConnectionLostException;
import io.agentd.client.ExecFailedException;
import io.agentd.client.ExecSession;
import io.agentd.client.FeatureNotOfferedException;
import io.agentd.client.ExitStatus;
import io.agentd.protocol.payload.ResourceUsage;
import io.agentd.client.Output;
import io.agentd.client.OutputListener;
import io.agentd.client.SessionDetachedException;
import io.agentd.client.StdinNotDeliveredException;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.FailureKind;
import io.agentd.protocol.payload.SessionDetached;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import sun.misc.Signal;

/**
 * {@code agentctl exec} and {@code agentctl attach}: one session, wired to this process's stdin,
 * stdout, stderr and terminal. They differ only in how the session is opened ({@link Opener}).
 */
final class ExecCommand {
    private static final int STDIN_READ_BYTES = 64 * 1024;
    /** How long the agent gets to answer a detach asked with the detach keys. */
    private static final Duration DETACH_WAIT = Duration.ofSeconds(30);

    /** Opens the connection (after the local checks, so a bad terminal never costs a connect). */
    interface Connector {
        AgentClient connect() throws Agentctl.Unavailable;
    }

    /** Opens the session on a connection, its output going to {@code listener}. */
    interface Opener {
        /** @param size the local terminal's rows and cols with -t, else null */
        ExecSession open(AgentClient client, int[] size, OutputListener listener) throws IOException;
    }

    private static final List<String> FORWARDED_SIGNALS = List.of("INT", "TERM", "HUP");

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
    /** How often a PTY fed from a pipe or file gets its end of input again ({@link #repeatEndOfInput}). */
    static final long EOF_REPEAT_MILLIS = 1000;
    private final LeaveRunning leave;
    /** Set by the first signal that asks to leave: a second one does not wait for the detach. */
    private final AtomicBoolean leaving = new AtomicBoolean();
    private final Opener opener;
    private final PrintStream err;
    /** How long a command may run on after a signal passed on before agentctl checks that the agent answers. */
    static final Duration SIGNAL_ANSWER_WAIT = Duration.ofSeconds(10);
    /**
     * How long a pong may take then before agentctl gives up on the agent: longer than a relay
     * holds everyone up for a client that does not read (10 s), so that another client's stall is
     * not taken for a dead agent.
     */
    static final Duration AGENT_ANSWER_WAIT = Duration.ofSeconds(15);
    /** A watch for the agent's answers runs (one is enough: the first signal starts it). */
    private final AtomicBoolean watchingAgent = new AtomicBoolean();
    /**
     * Completed when open returns, with its session (null when it failed); output and signals may
     * come before that ({@link CommandOutput#write}, {@link #onStopSignals}).
     */
    private final CompletableFuture<ExecSession> opened = new CompletableFuture<>();
    /** Writes the command's output here, and stops the command when it has nowhere to go. */
    private final CommandOutput output = new CommandOutput(opened);
    /** Set when the local terminal went raw: a line on stderr then needs its own carriage return. */
    private volatile boolean raw;
    /**
     * -i: set (before the session's input is closed) when reading the local stdin failed; the
     * command did not get all of its input, as when the agent could not deliver it (123).
     */
    private volatile boolean stdinReadFailed;
    /** -i without detach keys: set when the plain copy of the local stdin starts. */
    private volatile boolean copiesStdin;
    /** Bytes that copy read from the local stdin (the session counts what it sent of them). */
    private final AtomicLong stdinBytesRead = new AtomicLong();

    /** {@code agentctl exec}: a new session for the options' command. */
    ExecCommand(ExecOptions options, PrintStream err) {
        this(options.interactive(), options.tty(), options.stats(), options.cmd(), options.timeout(),
                (client, size, listener) -> {
                    ExecRequest request = options.toRequest(size != null ? size[0] : ExecRequest.DEFAULT_ROWS,
                            size != null ? size[1] : ExecRequest.DEFAULT_COLS, LocalTermEnv.of(options.tty()));
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
    }

    int run(Connector connector) throws Agentctl.Unavailable {
        LocalTerminal terminal = tty ? LocalTerminal.onStdin() : null;
        int[] size = terminal == null ? null : terminal.size();
        try (AgentClient client = connector.connect()) {
            // Before the session opens: its first output can be written before open returns, and a
            // signal sent on seeing it must find these, not the JVM's default exit (130 for SIGINT).
            if (leave.sigProxy()) {
                forwardSignals(client);
            } else {
                detachOnSignals(client.agentDetachesSessions());
            }
            ExecSession session = null;
            try {
                session = opener.open(client, size, output::write);
            } finally {
                opened.complete(session);
            }
            output.sessionOpened(session);
            DetachKeys keys = null;
            if (terminal != null) {
                WindowSizeFollower.follow(terminal, session, size); // before going raw: a resize from then on is seen
                if (localTerminalGoesRaw(tty, interactive, ProcessGroups.inForeground())) {
                    terminal.enterRaw();
                    raw = true;
                    // Every key goes to the command now; only these leave it running instead.
                    keys = client.agentDetachesSessions() ? DetachKeys.of(leave.detachKeys()) : null;
                }
            }
            if (interactive) {
                forwardStdin(session, keys, tty && terminal == null);
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
            String notDeliveredWhy = notDelivered != null ? notDelivered.reason() : inputLeftOver(session);
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
                    : ExitStatuses.exitStatus(code, notDeliveredWhy != null || stdinReadFailed, outputFailed);
        } catch (SessionDetachedException e) {
            restore(terminal);
            SessionDetached d = e.detached();
            err.println("agentctl: detached from session " + Long.toUnsignedString(d.session()) + ", which runs on;"
                    + " agentctl attach --from " + Long.toUnsignedString(d.offset()) + " "
                    + Long.toUnsignedString(d.session()) + " goes on from here");
            return output.reportFailure(err) ? Agentctl.EXIT_OUTPUT_FAILED : 0;
        } catch (ExecFailedException e) {
            restore(terminal);
            err.println("agentctl: " + ControlChars.fromAgent(e.getMessage()));
            return e.kind() == FailureKind.NOT_FOUND ? Agentctl.EXIT_NOT_FOUND : Agentctl.EXIT_CANNOT_RUN;
        } catch (AgentErrorException | FeatureNotOfferedException e) {
            // Refused, by the agent or (a feature its ready does not list) by the client for it.
            restore(terminal);
            err.println("agentctl: " + ControlChars.fromAgent(e.getMessage()));
            return Agentctl.EXIT_CANNOT_RUN;
        } catch (IOException e) {
            restore(terminal);
            throw new Agentctl.Unavailable(e.getMessage());
        } finally {
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

    /**
     * -i: a daemon thread copies stdin to the session through one buffer, so any amount streams in
     * bounded memory: each write waits for the agent's credit (flow control), and the next read
     * waits for the write. Local EOF ends the session's input. When the agent refuses input, the
     * copy stops and the input is ended, so that the command ends with the prefix it got (the main
     * thread reports the refusal). So does a failure to read the local stdin (`< /tmp`: EISDIR),
     * said on stderr at once; agentctl then exits as for input not delivered (123 for a command
     * that succeeded).
     */
    private void forwardStdin(ExecSession session, DetachKeys keys, boolean ptyFedFromNoTerminal) {
        if (keys != null) {
            FileChannel in = new FileInputStream(FileDescriptor.in).getChannel();
            pumpStdin(session, false, keyCopy(buffer -> readLocal(in, buffer), session, keys, err)::run);
            return;
        }
        pumpStdin(session, ptyFedFromNoTerminal, () -> {
            // A channel into a direct buffer: the bytes are copied once, by read(2), and go from
            // there to the socket (an InputStream adds a native-to-array copy, the socket a copy back).
            FileChannel in = new FileInputStream(FileDescriptor.in).getChannel();
            ByteBuffer buffer = ByteBuffer.allocateDirect(STDIN_READ_BYTES);
            copiesStdin = true;
            int n;
            while ((n = readLocal(in, buffer.clear())) > 0) {
                // Between the read and this count its bytes are in neither figure: a command ending in
                // that instant may be missed (a false 0, never a false 123).
                stdinBytesRead.addAndGet(n);
                session.writeStdin(buffer.flip());
            }
            return true;
        });
    }

    /**
     * Why the command, now ended, did not get all of agentctl's input although the agent reported
     * no stdin error, or null: bytes the copy read and could not send (it waited for credit the
     * ended session never gave), and bytes still waiting in agentctl's stdin. The agent sees neither:
     * it reports only what it had queued, so whether input was lost used to depend on where the
     * copy was when the command exited (5 MB into `head -c 200000` exited 123 or 0 from run to run).
     * What the agent took into the command's pipe and the command never read cannot be told, as in
     * a local pipeline. Not with -t: keys typed at a terminal after the command ended are no input lost.
     */
    private String inputLeftOver(ExecSession session) {
        if (!copiesStdin || stdinReadFailed || tty) {
            // A stdin that could not be read was said already (and a directory's size is no input);
            // with -t, keys typed after the command ended are no input lost.
            return null;
        }
        long unsent = Math.max(0, stdinBytesRead.get() - session.stdinBytesSent());
        long unread = localStdinWaiting();
        if (unsent + unread == 0) {
            return null;
        }
        return "EPIPE: the command ended before it was sent all of agentctl's input (" + (unsent + unread)
                + " bytes" + (unread > 0 ? " or more" : "") + " left)";
    }

    /** Bytes readable from agentctl's stdin without waiting (FIONREAD for a pipe, what is left of a file); 0 if unknown. */
    private static long localStdinWaiting() {
        try {
            // Not closed: that would close fd 0, which the stdin copy may still be reading.
            @SuppressWarnings("resource")
            FileInputStream in = new FileInputStream(FileDescriptor.in);
            return in.available();
        } catch (IOException e) {
            return 0;
        }
    }

    /** One copy of stdin into the session; true when it reached the end of the input. */
    private interface StdinCopy {
        boolean run() throws IOException;
    }

    /** A failure to read agentctl's own stdin (not one of the session or the connection). */
    private static final class LocalReadException extends IOException {
        private static final long serialVersionUID = 1L;

        LocalReadException(IOException cause) {
            super(String.valueOf(cause.getMessage()), cause);
        }
    }

    /**
     * {@code in.read(buffer)}: the bytes read, or -1 at the end; a failure is a {@link LocalReadException}.
     * A stdin left non-blocking by whoever opened it (a harness's pipe) answers 0 while its writer has
     * written nothing yet: that is waited out here (poll(2)), not taken for the end of the input.
     */
    private static int readLocal(FileChannel in, ByteBuffer buffer) throws LocalReadException {
        try {
            int n;
            while ((n = in.read(buffer)) == 0 && buffer.hasRemaining()) {
                LocalOutput.awaitReadable(0);
            }
            return n;
        } catch (IOException e) {
            throw new LocalReadException(e);
        }
    }

    /**
     * Runs {@code copy} on a daemon thread, and ends the session's input where the local input
     * ended, or could not be read further.
     */
    private void pumpStdin(ExecSession session, boolean ptyFedFromNoTerminal, StdinCopy copy) {
        Thread pump = new Thread(() -> {
            try {
                if (copy.run()) {
                    session.closeStdin();
                    if (ptyFedFromNoTerminal) {
                        repeatEndOfInput(session);
                    }
                }
            } catch (LocalReadException e) {
                stdinReadFailed = true;
                String eol = raw ? "\r\n" : "\n";
                err.print((raw ? "\r\n" : "") + "agentctl: cannot read stdin: " + e.getMessage() + eol);
                err.flush();
                closeStdinQuietly(session); // the command ends with what it got
            } catch (StdinNotDeliveredException e) {
                closeStdinQuietly(session);
            } catch (IOException e) {
                // the session ended or the connection broke: the main thread reports it
            }
        }, "agentctl-stdin");
        pump.setDaemon(true);
        pump.start();
    }

    /** The copy of the typed keys of -it with detach keys; a refused detach is said on {@code err}. */
    static DetachingKeyCopy keyCopy(DetachingKeyCopy.KeyReader in, ExecSession session, DetachKeys keys,
            PrintStream err) {
        return new DetachingKeyCopy(in, session, keys, () -> detach(session, err, "; still attached to the session"),
                STDIN_READ_BYTES);
    }

    /**
     * Asks the agent to detach; true when it did (the main thread, told by the session's end, says
     * so). A refusal is said on {@code err} in one line, ended by {@code then} (what happens next)
     * unless the session has ended meanwhile (the refusal then says that it exited).
     */
    private static boolean detach(ExecSession session, PrintStream err, String then) {
        try {
            session.detach(DETACH_WAIT);
            return true;
        } catch (AgentException | TimeoutException e) {
            // Raw mode: the line needs its own carriage returns.
            String why = e.getMessage().startsWith("cannot detach") ? e.getMessage() : "cannot detach: " + e.getMessage();
            err.print("\r\nagentctl: " + why + (session.isDone() ? "" : then) + "\r\n");
            err.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    /**
     * SIGINT, SIGTERM and SIGHUP sent to agentctl go to the remote command, and agentctl goes on
     * waiting for its exit status (as `docker run` does): over a virtio port the agent keeps a
     * session when its host hangs up, so dying here would leave the command running in the guest.
     * When the signal cannot be sent, the session or the connection has ended, and the main thread
     * reports that (the command's status, or 125).
     */
    private void forwardSignals(AgentClient client) {
        onStopSignals((session, signal, status) -> {
            watchForTheAgent(client, session); // first: the send below may wait behind a stuck writer
            try {
                session.signal(signal.getNumber());
            } catch (IOException e) {
                // It ended meanwhile (its status stands), or the connection did (125): the main
                // thread, told by the same end, reports it; exiting here would replace that.
            }
        });
    }

    /**
     * After a signal passed on, while the command runs on: every {@link #SIGNAL_ANSWER_WAIT} the
     * agent is asked for a pong, and none within {@link #AGENT_ANSWER_WAIT} (a paused VM, a hung
     * agent) ends agentctl with 125, the terminal restored by the shutdown hook. Without it, ^C
     * went nowhere and agentctl waited for ever (only SIGKILL ended it, leaving the terminal raw).
     * A command that traps the signal and runs on, on an agent that answers, runs on; so does one
     * whose output our own stdout does not take ({@link CommandOutput#heldReaderSince}).
     */
    private void watchForTheAgent(AgentClient client, ExecSession session) {
        if (!watchingAgent.compareAndSet(false, true)) {
            return;
        }
        Thread watch = new Thread(() -> {
            try {
                while (!endsWithin(session, SIGNAL_ANSWER_WAIT)) {
                    long asked = System.nanoTime();
                    try {
                        client.ping(AGENT_ANSWER_WAIT);
                    } catch (ConnectionLostException lost) {
                        return; // the main thread reports it (125)
                    } catch (TimeoutException | IOException noAnswer) {
                        if (noAnswer instanceof TimeoutException
                                && output.heldReaderSince(asked)) {
                            continue; // the pong waited behind output our own stdout was slow to take
                        }
                        if (!session.isDone()) {
                            err.println("agentctl: the agent does not answer (" + noAnswer.getMessage() + ") after a"
                                    + " signal was passed on to " + what + ": giving up on it; it may still run in the guest");
                            System.exit(Agentctl.EXIT_UNAVAILABLE);
                        }
                        return;
                    }
                }
            } catch (InterruptedException e) {
                // not interrupted by anyone: nothing to watch
            }
        }, "agentctl-signal-watch");
        watch.setDaemon(true);
        watch.start();
    }

    /**
     * --sig-proxy=false: SIGINT, SIGTERM and SIGHUP leave the session running, as the detach keys
     * do (agentctl prints how to attach again and exits 0). A second signal while the agent is asked
     * does not wait for it. When the agent cannot detach a session (no session_detach), or the
     * detach fails, agentctl ends as the signal would (128 + N) and the session gets what the agent
     * does when its host goes away.
     */
    private void detachOnSignals(boolean agentDetaches) {
        onStopSignals((session, signal, status) -> {
            if (!leaving.compareAndSet(false, true)) {
                System.exit(status);
            }
            if (!agentDetaches) {
                err.println("agentctl: this agent cannot detach a session (no session_detach);"
                        + " leaving it to what the agent does when its host goes away");
                System.exit(status);
            }
            if (!detach(session, err, "") && !session.isDone()) {
                System.exit(status);
            }
        });
    }

    /** What SIGINT, SIGTERM or SIGHUP does while the session runs; {@code status} is 128 + N. */
    private interface StopSignal {
        void handle(ExecSession session, Signal signal, int status);
    }

    /**
     * Installs {@code whileRunning} for SIGINT, SIGTERM and SIGHUP, before the session is opened.
     * A signal that comes while it opens waits for it once its output was shown (whoever saw that
     * output may have sent the signal in answer), and otherwise ends agentctl as the signal would,
     * as it did before anything was shown. Once the session has ended (or failed to open) there is
     * nothing left to pass a signal on to or to detach: agentctl ends as the signal would.
     */
    private void onStopSignals(StopSignal whileRunning) {
        for (String name : FORWARDED_SIGNALS) {
            Signal.handle(new Signal(name), signal -> {
                int status = 128 + signal.getNumber();
                ExecSession session = opened.getNow(null);
                if (session == null && output.shown()) {
                    session = opened.join(); // a handler's own thread: open returns or fails soon
                }
                if (session == null || session.isDone()) {
                    System.exit(status);
                }
                whileRunning.handle(session, signal, status);
            });
        }
    }

    /** True once the session has ended (however: its failure is the main thread's to report), false if still running after {@code wait}. */
    private static boolean endsWithin(ExecSession session, Duration wait) throws InterruptedException {
        try {
            session.awaitExit(wait);
            return true;
        } catch (TimeoutException stillRunning) {
            return false;
        } catch (AgentException ended) {
            return true;
        }
    }

    /**
     * -it with stdin a pipe or a file: its end is a ^D on the PTY, which a program that takes the
     * terminal out of canonical mode before it reads (bash or python under readline) never saw: the
     * line discipline keeps a ^D that came in canonical mode as an end-of-line mark, which a raw
     * read returns as a NUL, so `echo 'echo x' | agentctl exec -it -- bash` waited for ever (a
     * review). The input has ended, so ^D goes again every {@value #EOF_REPEAT_MILLIS} ms while the
     * command runs: an end of input for whatever reads the terminal next, as a terminal whose user
     * pressed ^D again would give. A terminal's own ^D is the user's, and is never repeated.
     */
    private static void repeatEndOfInput(ExecSession session) throws IOException {
        try {
            while (!session.isDone()) {
                try {
                    session.onExit().get(EOF_REPEAT_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException stillRunning) {
                    session.closeStdin();
                } catch (java.util.concurrent.ExecutionException ended) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeStdinQuietly(ExecSession session) {
        try {
            session.closeStdin();
        } catch (IOException e) {
            // the session ended or the connection broke: the main thread reports it
        }
    }
}
