package io.agentd.client;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecResize;
import io.agentd.protocol.payload.ExecSignal;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.ExecStdinError;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One exec session on an {@link AgentClient} connection: send stdin, resize, signals; receive output as
 * it comes (through the {@link OutputListener} given at start, or else from {@link #nextOutput}); await
 * the exit. Thread-safe.
 *
 * <p>Every wait ends: a failed start throws {@link ExecFailedException}, a refused request
 * {@link AgentErrorException}, a lost connection {@link ConnectionLostException}. A core.error about
 * a later frame of a running session does not end it: see {@link #errors}.
 */
public final class ExecSession {
    private static final Logger log = LoggerFactory.getLogger(ExecSession.class);
    /** Queue marker: the session has ended and no output follows. */
    private static final Object END = new Object();
    /** What a PTY's line discipline reads as end of input (the agent ignores empty stdin in PTY mode). */
    private static final byte[] PTY_EOF = {0x04};

    private final AgentClient client;
    private final long id;
    private final boolean tty;
    private final OutputListener listener;
    /** Output for {@link #nextOutput} when there is no listener: {@link Output}s, then {@link #END}. */
    private final LinkedBlockingQueue<Object> queue;
    private final CompletableFuture<Long> started = new CompletableFuture<>();
    private final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
    private volatile ExecStdinError stdinError;
    private final List<AgentErrorException> errors = new CopyOnWriteArrayList<>();

    ExecSession(AgentClient client, long id, boolean tty, OutputListener listener) {
        this.client = client;
        this.id = id;
        this.tty = tty;
        this.listener = listener;
        this.queue = listener == null ? new LinkedBlockingQueue<>() : null;
    }

    /** The session's id on the connection (never 0). */
    public long id() {
        return id;
    }

    public boolean isTty() {
        return tty;
    }

    /** Waits for core.exec.started and returns the pid of the session's process. */
    public long awaitStarted(Duration timeout)
            throws AgentException, TimeoutException, InterruptedException {
        return await(started, timeout, "start");
    }

    /**
     * Waits for the end of the session. All output has been delivered (to the listener, or to the
     * queue of {@link #nextOutput}) before this returns.
     *
     * @throws ExecFailedException   the program never ran
     * @throws AgentErrorException   the agent refused the request
     * @throws ConnectionLostException the connection closed first
     * @throws TimeoutException      still running after {@code timeout} (the session goes on)
     */
    public ExitStatus awaitExit(Duration timeout) throws AgentException, TimeoutException, InterruptedException {
        return await(exit, timeout, "exit");
    }

    /** Completes like {@link #awaitExit}, for callers that would rather not block. */
    public CompletableFuture<ExitStatus> onExit() {
        return exit.copy();
    }

    public boolean isDone() {
        return exit.isDone();
    }

    /**
     * The next chunk of output, in arrival order; null once the session has ended and every chunk was
     * taken. Only for sessions started without a listener.
     *
     * @throws TimeoutException no output and no end within {@code timeout}
     */
    public Output nextOutput(Duration timeout) throws TimeoutException, InterruptedException {
        if (queue == null) {
            throw new IllegalStateException("session " + id + " delivers its output to a listener");
        }
        Object item = queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (item == null) {
            throw new TimeoutException("no output from session " + id + " within " + timeout);
        }
        if (item == END) {
            queue.add(END); // every later call sees the end too
            return null;
        }
        return (Output) item;
    }

    /** The last core.exec.stdin.error the agent sent for this session, or null. */
    public ExecStdinError stdinError() {
        return stdinError;
    }

    /**
     * The core.errors the agent sent on this running session, oldest first: each refused one of our
     * frames (a resize of a pipe session, a bad signal number, ...) and the session went on. (A
     * core.error that refuses the request itself ends the session: {@link #awaitExit} throws it.)
     */
    public List<AgentErrorException> errors() {
        return List.copyOf(errors);
    }

    /** Sends bytes to the process's stdin (split into frames as needed). */
    public void writeStdin(byte[] data) throws IOException {
        writeStdin(data, 0, data.length);
    }

    public void writeStdin(byte[] data, int off, int len) throws IOException {
        if (len == 0) {
            return; // empty stdin data means end of input on the wire: only closeStdin sends it
        }
        ensureLive("write stdin");
        client.sendData(id, MessageType.EXEC_STDIN, data, off, len);
    }

    /**
     * Ends the process's input: in pipe mode the agent closes its stdin; in PTY mode this sends ^D,
     * which the terminal reads as end of input at the start of a line. Nothing to do, and no error,
     * once the session has ended (it may end at any moment, e.g. before its input was closed).
     */
    public void closeStdin() throws IOException {
        if (exit.isDone()) {
            return;
        }
        if (tty) {
            client.sendData(id, MessageType.EXEC_STDIN, PTY_EOF, 0, PTY_EOF.length);
        } else {
            client.send(new Frame(id, MessageType.EXEC_STDIN, ExecData.EOF));
        }
    }

    /** Sets the PTY's size (rows and cols are u16). */
    public void resize(int rows, int cols) throws IOException {
        ensureLive("resize");
        client.send(new Frame(id, MessageType.EXEC_RESIZE, new ExecResize(rows, cols)));
    }

    /** Sends a signal (a number: 15 = SIGTERM) to the session's process group. */
    public void signal(int signal) throws IOException {
        ensureLive("signal");
        client.send(new Frame(id, MessageType.EXEC_SIGNAL, new ExecSignal(signal)));
    }

    private void ensureLive(String what) throws AgentException {
        if (exit.isDone()) {
            throw new AgentException("cannot " + what + ": session " + id + " has ended");
        }
    }

    /** What the connection's reader calls with this session's frames. */
    Receiver receiver() {
        return new Receiver() {
            @Override
            public boolean onFrame(Frame frame) {
                ExecSession.this.onFrame(frame);
                return exit.isDone();
            }

            @Override
            public void onAbort(AgentException cause) {
                end(null, cause);
            }
        };
    }

    /** Frames on this session's id, on the reader thread, in the order the agent sent them. */
    private void onFrame(Frame frame) {
        switch (frame.type()) {
            case EXEC_STARTED -> started.complete(((ExecStarted) frame.payload()).pid());
            case EXEC_STDOUT -> deliver(new Output(Output.Stream.STDOUT, ((ExecData) frame.payload()).data()));
            case EXEC_STDERR -> deliver(new Output(Output.Stream.STDERR, ((ExecData) frame.payload()).data()));
            case EXEC_STDIN_ERROR -> onStdinError((ExecStdinError) frame.payload());
            case EXEC_EXITED -> {
                ExecExited e = (ExecExited) frame.payload();
                end(new ExitStatus(e.code(), e.signal(), Boolean.TRUE.equals(e.timedOut())), null);
            }
            case EXEC_FAILED -> end(null, new ExecFailedException((ExecFailed) frame.payload()));
            case CORE_ERROR -> onAgentError(new AgentErrorException((ErrorPayload) frame.payload()));
            default -> {
                if (frame.isTerminal()) {
                    end(null, new AgentException("agent ended session " + id + " with " + frame.type()));
                } else {
                    log.warn("session {}: unexpected {} from the agent, ignored", id, frame.type());
                }
            }
        }
    }

    /**
     * A core.error about our exec.request (or about a frame the agent could not even read) before
     * started refuses the request itself: the session never was. Any other answers one of our later
     * frames (resize, signal, stdin), possibly before started (the agent sends started once the
     * program runs, and goes on reading meanwhile), and the session goes on.
     */
    private void onAgentError(AgentErrorException error) {
        String about = error.offendingType();
        if (!started.isDone() && (about == null || about.equals(MessageType.EXEC_REQUEST.wire()))) {
            end(null, error);
            return;
        }
        log.debug("session {}: {}", id, error.getMessage());
        errors.add(error);
        if (listener != null) {
            try {
                listener.onAgentError(error);
            } catch (RuntimeException e) {
                log.warn("session {}: output listener failed", id, e);
            }
        }
    }

    private void deliver(Output output) {
        if (queue != null) {
            queue.add(output);
            return;
        }
        try {
            listener.onOutput(output);
        } catch (RuntimeException e) {
            log.warn("session {}: output listener failed", id, e);
        }
    }

    private void onStdinError(ExecStdinError error) {
        stdinError = error;
        log.debug("session {}: agent could not write stdin: {} {}", id, error.errnoName(), error.message());
        if (listener != null) {
            try {
                listener.onStdinError(error);
            } catch (RuntimeException e) {
                log.warn("session {}: output listener failed", id, e);
            }
        }
    }

    private void end(ExitStatus status, AgentException failure) {
        if (failure != null) {
            started.completeExceptionally(failure);
            exit.completeExceptionally(failure);
        } else {
            if (!started.isDone()) {
                started.completeExceptionally(new AgentException("agent sent exited without started"));
            }
            exit.complete(status);
        }
        if (queue != null) {
            queue.add(END); // after the exit: whoever reads the end sees the session done
        }
    }

    private <T> T await(CompletableFuture<T> future, Duration timeout, String what)
            throws AgentException, TimeoutException, InterruptedException {
        try {
            return future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new TimeoutException("session " + id + ": no " + what + " within " + timeout);
        } catch (ExecutionException e) {
            throw (AgentException) e.getCause();
        }
    }
}
