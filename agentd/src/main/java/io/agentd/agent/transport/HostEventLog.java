package io.agentd.agent.transport;

import io.agentd.agent.LogText;
import io.agentd.agent.loop.Loop;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.FailureKind;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The log lines a host causes at its own rate, each kind at most {@link #LINES_PER_SECOND} a second
 * ({@link #CONNECTION_LINES_PER_SECOND} for connections)
 * over all of the agent's connections (one instance, shared: one each would let 64 hosts, or one
 * that reconnects, log 20 a second apiece): refused frames (and undelivered stdin), requests
 * answered failed before anything ran, and connections coming and going. A host that floods bad
 * frames still gets every core.error on the wire, and one that connects and closes in a loop is
 * still served each time, but neither may flood the operator's log: logging is synchronous on the
 * loop thread and the guest's console is a serial port. The lines left out are counted and
 * reported in one line when their second is over.
 */
public final class HostEventLog {
    private static final Logger log = LoggerFactory.getLogger(PortLink.class);
    static final int LINES_PER_SECOND = 20;
    /**
     * Connections coming and going, a second: each makes up to three lines (served, hang-up,
     * closed), and twelve agentctl run at once in a script, a normal use, passed 20 and left some
     * without their closing line (a log review). 60 lines of about 120 bytes still fit a serial
     * console's 11 KB a second.
     */
    static final int CONNECTION_LINES_PER_SECOND = 60;
    private static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final Loop loop;
    /** Refused frames and undelivered stdin. */
    private final Window refusals = new Window("refused frames (each was answered with core.error or stdin.error)",
            Level.WARN);
    /**
     * Requests answered failed before anything ran: a rate of their own, so that a flood of the
     * others does not hide the failure of a command the operator is looking for. Two rates, by the
     * level of their lines ({@link #levelOf}): a host that sends a missing command in a loop (info)
     * does not hide a failure of the guest's or the agent's (warn), and the count of its lines left
     * out is not a warning either.
     */
    private final Window failures = new Window("failed requests (each was answered with exec.failed)", Level.WARN);
    private final Window hostMistakes = new Window("failed requests that named what cannot be run as asked (each was"
            + " answered with exec.failed)", Level.INFO);
    /**
     * Frames refused because they crossed their session's end (debug lines): a rate of their own,
     * so that a flood of them at debug level does not hide the refusals that are a host's fault.
     */
    private final Window racedRefusals = new Window("frames refused as their session ended (each was answered)",
            Level.DEBUG);

    /**
     * A connection served or over, and a host link's hang-up: a local user allowed on a socket can
     * connect and close thousands of times a second, each a few lines.
     */
    private final Window connections = new Window("lines of connections opened and closed", Level.INFO,
            CONNECTION_LINES_PER_SECOND);

    /**
     * A link's input paused because its host reads none of its answers, and resumed: a host that
     * sends without reading until the pause, then reads it all, and again, makes two lines a cycle.
     */
    private final Window flowControl = new Window("lines of port input paused and resumed, and of output stalled",
            Level.WARN);

    public HostEventLog(Loop loop) {
        this.loop = loop;
    }

    /**
     * Whether a line about a connection coming or going may be logged now (the caller writes it);
     * false counts it for the report at the end of its second.
     */
    public boolean takeConnectionLine() {
        return connections.takeLine();
    }

    /** A host link's host hung up or was dropped, {@code why}. */
    void linkClosed(String who, int fd, String why) {
        if (connections.takeLine()) {
            log.info("{}: host link on fd {} closed: {}", who, fd, LogText.message(why));
        }
    }

    /** The hang-up cut a frame the link was writing: the rest of it, {@code cut} bytes, is dropped. */
    void cutFrameDropped(String who, int fd, long cut) {
        if (connections.takeLine()) {
            log.info("{}: host link on fd {}: the rest of a frame cut by the hang-up dropped ({} bytes)", who, fd, cut);
        }
    }

    /** A port's host left {@code unread} bytes the link had not read (its input was held): dropped with it. */
    void unreadInputDropped(String who, int fd, long unread) {
        if (connections.takeLine()) {
            log.info("{}: host link on fd {}: {} bytes the host sent and the agent had not read (its input was held)"
                    + " dropped with it", who, fd, unread);
        }
    }

    /** One refused frame (never its payload). */
    void refused(String who, long id, String offendingType, String kind, String message) {
        if (refusals.takeLine()) {
            log.warn("{}: refused frame id={} type={}: {}: {}", who, id, LogText.quote(offendingType), kind,
                    LogText.message(message));
        }
    }

    /**
     * One frame refused because it crossed its session's end (no fault of the host's, hence debug):
     * rate-limited all the same, since a host can send them at its own rate (a flood of empty stdin
     * frames on unknown ids logged a line each: a hostile review). Counts nothing while debug is off.
     */
    void racedRefusal(String who, long id, String offendingType, String kind, String message) {
        if (log.isDebugEnabled() && racedRefusals.takeLine()) {
            log.debug("{}: refused frame id={} type={}: {}: {}", who, id, LogText.quote(offendingType), kind,
                    LogText.message(message));
        }
    }

    /**
     * One exec.request answered failed before anything ran (a refused profile, a request during the
     * shutdown, a command not found): a host can send them in a loop.
     */
    void requestFailed(String who, long id, ExecFailed failed, String quotedCmd) {
        if ((levelOf(failed) == Level.INFO ? hostMistakes : failures).takeLine()) {
            logRequestFailed(who + ": ", id, failed, quotedCmd);
        }
    }

    /** The line of {@link #requestFailed}, unlimited (for a host with no shared limit: tests), at {@link #levelOf}. */
    static void logRequestFailed(String prefix, long id, ExecFailed failed, String quotedCmd) {
        // The message too: it says what the kind does not (the user that does not exist, the cwd).
        Object[] args = {prefix, id, failed.kind(), failed.stage(),
                failed.errnoName() != null ? failed.errnoName() : failed.errno(), quotedCmd,
                LogText.message(failed.message())};
        if (levelOf(failed) == Level.INFO) {
            log.info(REQUEST_FAILED, args);
        } else {
            log.warn(REQUEST_FAILED, args);
        }
    }

    private static final String REQUEST_FAILED = "{}session {} failed: kind={} stage={} errno={} cmd={}: {}";
    /** The stages of a user or group lookup, which fail without an errno when there is no such entry. */
    private static final Set<String> LOOKUP_STAGES = Set.of("getpwnam", "getpwuid", "getgrnam");

    /**
     * The level of a failed request's line, the one place that decides it. An operator reads WARN as
     * "look at the agent or the guest", so a request that named what is not there or cannot be used
     * as given, the host's to put right, is INFO:
     * <ul>
     * <li>not_found and not_executable at execve: the program (or its interpreter) does not exist,
     *     is a directory, is no executable, is being written;
     * <li>bad_args: an argument list or path too long, a link loop, an unknown profile, a value out
     *     of range, a request too large to decode;
     * <li>bad_cwd from a chdir that failed (its errno: no such directory, not one, not enterable);
     * <li>user_setup_failed from a lookup that found no such user or group (no errno).
     * </ul>
     * Everything else is WARN: permission_denied (the kernel's or a profile's refusal, or the
     * agent's floor), resource_limit and out_of_memory (the guest's or the agent's limits),
     * pty_setup_failed, other (the agent failing, or shutting down), a user switch or lookup that
     * failed with an errno, a chdir or a step that never finished (no errno: a mount that does not
     * answer, the child killed), and not_found or not_executable at a step before the exec (a
     * profile's mount).
     */
    static Level levelOf(ExecFailed failed) {
        String stage = failed.stage() == null ? "" : failed.stage();
        boolean hostMistake = switch (FailureKind.fromWire(failed.kind())) {
            case NOT_FOUND, NOT_EXECUTABLE -> stage.equals("execve");
            case BAD_ARGS -> true;
            case BAD_CWD -> failed.errno() != null;
            case USER_SETUP_FAILED -> failed.errno() == null && LOOKUP_STAGES.contains(stage);
            default -> false;
        };
        return hostMistake ? Level.INFO : Level.WARN;
    }

    /**
     * One stdin frame not delivered (stdin.error): a host writing to a child that is gone or full
     * sends them at its own rate, so they share the refusals' rate limit.
     */
    void stdinRefused(String who, long id, String errnoName, String message) {
        if (refusals.takeLine()) {
            log.info("{}: session {}: stdin.error {}: {}", who, id, errnoName, LogText.message(message));
        }
    }

    /** A link stopped reading its host's input: {@code queuedBytes} of answers wait unread. */
    void inputPaused(String who, long queuedBytes) {
        if (flowControl.takeLine()) {
            log.warn("{}: host is not reading: {} bytes queued, pausing port input", who, queuedBytes);
        }
    }

    /** A link reads its host's input again: its answers are back under the mark. */
    void inputResumed(String who) {
        if (flowControl.takeLine()) {
            log.info("{}: host reads again, port input resumed", who);
        }
    }

    /**
     * A link's host has taken none of the output queued for it for {@code idleMillis} (StallWatch):
     * one line per stall, under the same rate as every link's (64 stalling hosts made 25 lines a second).
     */
    void outputStalled(String who, long idleMillis, long queuedBytes, boolean outputAllowed) {
        if (flowControl.takeLine()) {
            log.warn("{}: host has taken no output for {} ms: {} bytes wait for it{}", who, idleMillis, queuedBytes,
                    outputAllowed ? "" : "; session output is paused until it reads");
        }
    }

    /** The host of a stalled link takes output again, {@code afterMillis} after it last did. */
    void outputTakenAgain(String who, long afterMillis) {
        if (flowControl.takeLine()) {
            log.info("{}: host takes output again after {} ms", who, afterMillis);
        }
    }

    /** At most a number of lines a second of one kind; the rest counted in a line when their second is over. */
    private final class Window {
        private final String what;
        /**
         * The level of its lines, and so of the count of those left out: a count of connections
         * opened and closed (info) at warn was a warning about normal life, the only line an
         * operator at warn saw of it (the log review).
         */
        private final Level level;
        private long windowStartNanos = System.nanoTime() - WINDOW_NANOS;
        private int linesInWindow;
        private long leftOut;
        private boolean reportScheduled;

        /** Lines a second let through. */
        private final int linesPerSecond;

        Window(String what, Level level) {
            this(what, level, LINES_PER_SECOND);
        }

        Window(String what, Level level, int linesPerSecond) {
            this.what = what;
            this.level = level;
            this.linesPerSecond = linesPerSecond;
        }

        /** True when a line may be logged now; otherwise counts it for the report at the end of its second. */
        boolean takeLine() {
            long now = System.nanoTime();
            if (now - windowStartNanos >= WINDOW_NANOS) {
                windowStartNanos = now;
                linesInWindow = 0;
            }
            if (linesInWindow < linesPerSecond) {
                linesInWindow++;
                return true;
            }
            leftOut++;
            if (!reportScheduled) {
                reportScheduled = true;
                long windowLeftMillis = TimeUnit.NANOSECONDS.toMillis(windowStartNanos + WINDOW_NANOS - now) + 1;
                loop.schedule(windowLeftMillis, this::reportLeftOut);
            }
            return false;
        }

        private void reportLeftOut() {
            reportScheduled = false;
            log.atLevel(level).log("{} more {} in the last second not logged", leftOut, what);
            leftOut = 0;
        }
    }
}
