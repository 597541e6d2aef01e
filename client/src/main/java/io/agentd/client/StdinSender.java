package io.agentd.client;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Sends one session's stdin: data cut into frames of at most {@link FrameWriter#DATA_CHUNK_BYTES},
 * each taken from the agent's credit first ({@link StdinWindow}), and the end of input (a pipe's
 * empty frame, sent once; a PTY's ^D, after a partial line two). Counts the data bytes sent.
 */
final class StdinSender {
    /** What a PTY's line discipline reads as end of input (the agent ignores empty stdin in PTY mode). */
    private static final byte[] PTY_EOF = {0x04};
    /**
     * After a partial line the terminal takes the first ^D as "send this line now", and only a
     * second one, at the start of a line, as the end of input: what a person types after a line
     * without a newline.
     */
    private static final byte[] PTY_EOF_AFTER_PARTIAL_LINE = {0x04, 0x04};
    private static final int NO_STDIN_YET = -1;

    private final AgentConnection connection;
    private final long id;
    private final StdinWindow window;
    /** Data bytes sent to stdin so far (not counting the end of input). */
    private final AtomicLong bytesSent = new AtomicLong();
    /** A pipe session's closeStdin has sent the end of input: the agent closed the pipe, nothing more goes in. */
    private final AtomicBoolean pipeClosed = new AtomicBoolean();
    /** The last stdin byte sent (PTY sessions: does the input end in the middle of a line?). */
    private volatile int lastByte = NO_STDIN_YET;

    StdinSender(AgentConnection connection, long id, StdinWindow window) {
        this.connection = connection;
        this.id = id;
        this.window = window;
    }

    /** Data bytes sent so far (the end of input not counted). */
    long bytesSent() {
        return bytesSent.get();
    }

    /** The request went out with its end of input ({@link AgentClient#startWithoutInput}): nothing more goes in. */
    void endedWithRequest() {
        pipeClosed.set(true);
    }

    /**
     * {@link ExecSession#writeStdin(ByteBuffer)}: a heap buffer's bytes as an array's, a direct
     * buffer's without a copy; without a deadline.
     */
    void write(ByteBuffer data) throws IOException {
        if (!data.isDirect()) {
            int n = data.remaining();
            if (data.hasArray()) {
                write(data.array(), data.arrayOffset() + data.position(), n);
            } else {
                byte[] copy = new byte[n];
                data.get(data.position(), copy);
                write(copy, 0, n);
            }
            data.position(data.limit());
            return;
        }
        writeDirect(data);
    }

    /** Sends the bytes between a direct buffer's position and limit without a copy; without a deadline. */
    private void writeDirect(ByteBuffer data) throws IOException {
        int end = data.limit();
        try {
            while (data.position() < end) {
                checkPipeOpen();
                int n;
                try {
                    n = window.acquire(Math.min(end - data.position(), FrameWriter.DATA_CHUNK_BYTES),
                            Timeouts.NO_DEADLINE);
                } catch (TimeoutException e) {
                    throw Timeouts.timedOutWithoutDeadline(e);
                }
                data.limit(data.position() + n);
                // Counted before the send: once it is on the wire the command may take it and exit,
                // and a count made after could miss it (agentctl would report input it delivered as
                // left over). A send that fails breaks the connection, and the count no longer matters.
                bytesSent.addAndGet(n);
                connection.sendData(id, MessageType.EXEC_STDIN, data);
                data.limit(end);
                lastByte = data.get(data.position() - 1);
            }
        } finally {
            data.limit(end);
        }
    }

    /** {@link ExecSession#writeStdin(byte[], int, int)}: without a deadline. */
    void write(byte[] data, int off, int len) throws IOException {
        try {
            write(data, off, len, Timeouts.NO_DEADLINE);
        } catch (TimeoutException e) {
            throw Timeouts.timedOutWithoutDeadline(e);
        }
    }

    /**
     * {@link ExecSession#writeStdin(byte[], int, int)} that gives up at {@code deadlineNanos} (a
     * {@link System#nanoTime}); returns how many bytes were sent, which is {@code len} unless the
     * session could take no more (then the session's state says why).
     */
    int write(byte[] data, int off, int len, long deadlineNanos) throws IOException, TimeoutException {
        Objects.checkFromIndexSize(off, len, data.length);
        if (len == 0) {
            return 0; // empty stdin data means end of input on the wire: only closeStdin sends it
        }
        int sent = 0; // the window fails the write once the session has ended
        while (sent < len) {
            checkPipeOpen();
            if (sent > 0 && Timeouts.left(deadlineNanos) == 0) {
                // A socket with room takes a chunk at once whatever the time: without this, an agent
                // that reads (and grants no credit) would take all of it, however long that took.
                throw new TimeoutException("session " + id + ": " + sent + " of " + len + " bytes of stdin sent by the deadline");
            }
            int n;
            try {
                n = window.acquire(Math.min(len - sent, FrameWriter.DATA_CHUNK_BYTES), deadlineNanos);
            } catch (InterruptedIOException e) {
                e.bytesTransferred = sent;
                throw e;
            }
            bytesSent.addAndGet(n); // before the send, as above
            try {
                connection.sendData(id, MessageType.EXEC_STDIN, data, off + sent, n, deadlineNanos);
            } catch (AgentTimeoutException e) {
                // Nothing of it went out (one chunk: all or nothing, or the connection ends). Its
                // credit is not given back: the caller gives the session up (run kills it).
                bytesSent.addAndGet(-n);
                throw e.asTimeoutException("");
            }
            sent += n;
            lastByte = data[off + sent - 1];
        }
        return sent;
    }

    /**
     * A pipe session's input written after its end: the agent would only refuse it later, as an
     * asynchronous stdin error; the caller learns it here, at the write that cannot be delivered.
     */
    private void checkPipeOpen() throws IOException {
        if (pipeClosed.get()) {
            throw new IOException("stdin of session " + id + " is closed (closeStdin): nothing more can be written");
        }
    }

    /**
     * Ends the input of a session still running, as {@link ExecSession#closeStdin()} says, giving up
     * at {@code deadlineNanos}: a PTY session's ^D is data and waits for the agent's credit like any
     * other byte.
     */
    void close(boolean tty, long deadlineNanos) throws IOException, TimeoutException {
        if (!tty && !pipeClosed.compareAndSet(false, true)) {
            return; // the end of input went out already
        }
        if (tty) {
            try {
                int last = lastByte;
                boolean partialLine = last != NO_STDIN_YET && last != '\n' && last != '\r' && last != PTY_EOF[0];
                // data on the wire: it needs credit like any other byte
                byte[] eof = partialLine ? PTY_EOF_AFTER_PARTIAL_LINE : PTY_EOF;
                write(eof, 0, eof.length, deadlineNanos);
            } catch (ConnectionLostException e) {
                throw e;
            } catch (AgentException e) {
                // the session ended meanwhile, or the agent refuses all its later input: nothing to end
            }
        } else {
            try {
                connection.send(deadlineNanos, new Frame(id, MessageType.EXEC_STDIN, ExecData.EOF));
            } catch (IOException e) {
                // It did not go out (the connection broke, or the agent read nothing in time): a
                // later write must say that, not "closed".
                pipeClosed.set(false);
                if (e instanceof AgentTimeoutException timedOut) {
                    throw timedOut.asTimeoutException("");
                }
                throw e;
            }
        }
    }
}
