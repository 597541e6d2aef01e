package io.agentd.client.cli;

import io.agentd.client.AgentException;
import io.agentd.client.ExecSession;
import io.agentd.client.Output;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The session's output listener: writes the command's output to agentctl's stdout and stderr, and
 * when that output has nowhere to go stops the command as a broken pipe would. It also keeps what
 * the rest of exec asks of the output: whether any was shown, whether a write held the connection's
 * reader up, and the failure to say once the command has ended.
 */
final class CommandOutput {
    /**
     * How long a command may go on writing after the SIGPIPE its broken output got before it is
     * killed: one that ignores SIGPIPE (Python, the JVM, trap '' PIPE) gets no EPIPE here, as it
     * would writing to a local pipe, and would run on with agentctl throwing its output away.
     */
    static final Duration BROKEN_OUTPUT_GRACE = Duration.ofSeconds(2);

    // Unbuffered: output reaches the local terminal or pipe as soon as the agent sends it.
    private final LocalOutput stdout = LocalOutput.stdout();
    private final LocalOutput stderr = LocalOutput.stderr();
    /** The session once open returns (null when it failed): a write may fail before that. */
    private final CompletableFuture<ExecSession> opened;
    private final AtomicBoolean outputBroken = new AtomicBoolean();
    /**
     * True while the connection's reader is in a write to our stdout or stderr: a reader of ours that
     * stopped reading (`| less` on its first page) holds it there, and no frame, a pong neither, is
     * read meanwhile. Not the agent's silence, so the watch does not give up on it then.
     */
    private volatile boolean writingLocally;
    /** When the last such write ended (nanoTime): one during a ping's wait held its pong back too. */
    private volatile long localWriteEndedNanos = System.nanoTime();
    private final AtomicBoolean stoppingForBrokenOutput = new AtomicBoolean();
    /** The command was killed after it ignored the SIGPIPE of its broken output. */
    private volatile boolean killedForBrokenOutput;
    /**
     * The first failure to write the command's output other than a broken pipe (a full disk:
     * "error writing to standard output: No space left on device"), printed once the command has
     * ended; null when there was none.
     */
    private volatile String outputFailure;
    /** Set before the first output is written: from then on a signal may be someone's answer to it. */
    private volatile boolean outputShown;

    CommandOutput(CompletableFuture<ExecSession> opened) {
        this.opened = opened;
    }

    /** Output listener: runs on the connection's reader thread. */
    void write(Output output) {
        if (!outputShown) {
            outputShown = true;
        }
        LocalOutput to = output.stream() == Output.Stream.STDOUT ? stdout : stderr;
        if (to.failure() != null) {
            return; // it failed before: what comes after is not written either (as cat stops)
        }
        try {
            writingLocally = true;
            to.write(output.data());
        } catch (IOException e) {
            // Our reader went away (e.g. `agentctl exec ... | head`): stop the writer as a pipe would.
            // Any other failure (a full disk) leaves the output nowhere to go either: stopped the
            // same way, and said once the command has ended (the status is then not 0).
            if (!LocalOutput.isBrokenPipe(e) && outputFailure == null) {
                outputFailure = to.describe(e);
            }
            if (outputBroken.compareAndSet(false, true)) {
                stopForBrokenOutput(opened.getNow(null)); // null before the open returned: it sends it then
            }
        } finally {
            localWriteEndedNanos = System.nanoTime();
            writingLocally = false;
        }
    }

    /** Called once open has returned {@code session}: output that broke before that stops it now. */
    void sessionOpened(ExecSession session) {
        if (outputBroken.get()) {
            stopForBrokenOutput(session);
        }
    }

    /** True once output has been shown: a signal may then be someone's answer to it. */
    boolean shown() {
        return outputShown;
    }

    /**
     * True when a write to our own stdout or stderr held the connection's reader up at some time
     * since {@code sinceNanos} (nanoTime): an answer the agent sent then waited behind it.
     */
    boolean heldReaderSince(long sinceNanos) {
        return writingLocally || localWriteEndedNanos - sinceNanos > 0;
    }

    /** The command was killed after it ignored the SIGPIPE of its broken output. */
    boolean killedForBrokenOutput() {
        return killedForBrokenOutput;
    }

    /** Prints the output failure's line on {@code err}, if there was one; true when there was. */
    boolean reportFailure(PrintStream err) {
        String failure = outputFailure;
        if (failure == null) {
            return false;
        }
        err.println("agentctl: " + failure);
        return true;
    }

    /**
     * The command's output has nowhere to go: SIGPIPE, as a broken pipe would send it, and SIGKILL
     * {@link #BROKEN_OUTPUT_GRACE} later if it has not ended. From a thread of its own: this is
     * called on the connection's reader thread, which must not wait for the connection's writes.
     */
    private void stopForBrokenOutput(ExecSession session) {
        if (session == null || !stoppingForBrokenOutput.compareAndSet(false, true)) {
            return; // once: the open returning and the reader may both see the broken output
        }
        Thread stopper = new Thread(() -> {
            signalQuietly(session, ExitStatuses.SIGPIPE);
            try {
                session.awaitExit(BROKEN_OUTPUT_GRACE);
            } catch (TimeoutException ignoredIt) {
                killedForBrokenOutput = true;
                signalQuietly(session, ExitStatuses.SIGKILL);
            } catch (AgentException | InterruptedException ended) {
                // it ended otherwise: its status says how
            }
        }, "agentctl-broken-output");
        stopper.setDaemon(true);
        stopper.start();
    }

    private static void signalQuietly(ExecSession session, int signal) {
        if (session == null) {
            return;
        }
        try {
            session.signal(signal);
        } catch (IOException e) {
            // already ended
        }
    }
}
