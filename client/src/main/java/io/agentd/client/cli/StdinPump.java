package io.agentd.client.cli;

import io.agentd.client.ExecSession;
import io.agentd.client.StdinNotDeliveredException;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * -i: copies agentctl's stdin into the session on a daemon thread (typed keys scanned for the
 * detach keys on a raw terminal), ends the session's input where the local input ends, and tells
 * afterwards whether the command got all of it.
 */
final class StdinPump {
    private static final int STDIN_READ_BYTES = 64 * 1024;
    /** How often a PTY fed from a pipe or file gets its end of input again ({@link #repeatEndOfInput}). */
    static final long EOF_REPEAT_MILLIS = 1000;

    private final PrintStream err;
    /**
     * Set (before the session's input is closed) when reading the local stdin failed; the
     * command did not get all of its input, as when the agent could not deliver it (123).
     */
    private volatile boolean stdinReadFailed;
    /** Without detach keys: set when the plain copy of the local stdin starts. */
    private volatile boolean copiesStdin;
    /** Bytes that copy read from the local stdin (the session counts what it sent of them). */
    private final AtomicLong stdinBytesRead = new AtomicLong();

    StdinPump(PrintStream err) {
        this.err = err;
    }

    /** True when reading the local stdin failed (said on stderr at once): the command did not get all of it. */
    boolean readFailed() {
        return stdinReadFailed;
    }

    /**
     * A daemon thread copies stdin to the session through one buffer, so any amount streams in
     * bounded memory: each write waits for the agent's credit (flow control), and the next read
     * waits for the write. Local EOF ends the session's input. When the agent refuses input, the
     * copy stops and the input is ended, so that the command ends with the prefix it got (the main
     * thread reports the refusal). So does a failure to read the local stdin (`< /tmp`: EISDIR),
     * said on stderr at once; agentctl then exits as for input not delivered (123 for a command
     * that succeeded).
     *
     * @param keys the detach keys to scan typed keys for, or null for a plain copy
     * @param raw the local terminal is raw: a line on stderr needs its own carriage return
     */
    void start(ExecSession session, DetachKeys keys, boolean ptyFedFromNoTerminal, boolean raw) {
        if (keys != null) {
            FileChannel in = new FileInputStream(FileDescriptor.in).getChannel();
            pump(session, false, raw, keyCopy(buffer -> readLocal(in, buffer), session, keys, err)::run);
            return;
        }
        pump(session, ptyFedFromNoTerminal, raw, () -> {
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
    String inputLeftOver(ExecSession session, boolean tty) {
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

    /** The copy of the typed keys of -it with detach keys; a refused detach is said on {@code err}. */
    static DetachingKeyCopy keyCopy(DetachingKeyCopy.KeyReader in, ExecSession session, DetachKeys keys,
            PrintStream err) {
        return new DetachingKeyCopy(in, session, keys,
                () -> UserDetach.ask(session, err, "; still attached to the session"), STDIN_READ_BYTES);
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
    private void pump(ExecSession session, boolean ptyFedFromNoTerminal, boolean raw, StdinCopy copy) {
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
                    session.onExit().get(EOF_REPEAT_MILLIS, TimeUnit.MILLISECONDS);
                } catch (TimeoutException stillRunning) {
                    session.closeStdin();
                } catch (ExecutionException ended) {
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
