package io.agentd.agent;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import io.agentd.agent.fs.ChannelDescriptor;
import io.agentd.agent.sys.FileType;
import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The appender of {@code --log-file}: each line is appended to the file with one write(2), by a
 * {@link LogLineQueue}'s thread, and when a write fails the log goes to standard error from that
 * line on, with one line there saying so
 * (naming the file and the error). The file is not tried again: no retry on every line, no second
 * notice.
 *
 * <p>logback's FileAppender lost such a log without a word: its stream (ResilientFileOutputStream)
 * takes the write's IOException into logback's status manager, which nobody reads once the agent
 * is configured, drops every later line, and tries the file again now and then. A file that opens
 * for appending but takes no write (/proc/version as root), or one on a file system that fills up,
 * left the agent running with no log at all (a log review).
 *
 * <p>A write that fails at the first line is told the same way: the agent does not refuse to start
 * over it, as it does not for a file that cannot be opened ({@link Logging#configure}; init powers
 * the VM off on a refusal, and a session can fill a file system). Nothing is lost before the first
 * line that fails, so that line's notice is the first moment an operator needs one.
 */
final class LogFileAppender extends OutputStreamAppender<ILoggingEvent> {
    private final Path file;
    private final PrintStream stderr;
    /** Why the file stopped taking lines; null while it takes them. */
    private volatile String failure;

    /**
     * An appender on {@code out}, a stream on {@code file}; {@code stderr} takes the log once a write
     * to {@code out} fails. Start it as any appender (with its encoder).
     */
    LogFileAppender(Path file, OutputStream out, PrintStream stderr) {
        this(file, out, stderr, false);
    }

    /** With {@code queued}, the lines go through a {@link LogLineQueue}: the caller never waits on the disk. */
    private LogFileAppender(Path file, OutputStream out, PrintStream stderr, boolean queued) {
        this.file = file;
        this.stderr = stderr;
        OutputStream fileOrStderr = new FileOrStderr(out);
        setOutputStream(queued ? Logging.queue(this, fileOrStderr,
                () -> writesToFile() ? "log file " + LogText.quote(file.toString()) : "standard error") : fileOrStderr);
    }

    /**
     * Opens {@code file} for appending (its missing parent directories made, as logback's FileAppender
     * did), unbuffered: the layout makes each line one array, written at once, by the queue's thread
     * (a file on a disk that hangs or crawls would otherwise hold the loop, as the console did).
     *
     * @throws IOException why it cannot be opened ({@link #reason} words it for a line)
     */
    static LogFileAppender open(Path file, PrintStream stderr) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            Files.createDirectories(parent);
        }
        return new LogFileAppender(file, appendToRegularFile(file), stderr, true);
    }

    /**
     * A stream appending to the regular file at {@code file}, made if missing. {@link Logging#configure}
     * refuses a link, a FIFO or a device there first, but by name: whoever may write the log's
     * directory can swap the name between that check and this open, and the open of a
     * FileOutputStream follows a link (root appended wherever it pointed, and made the file it
     * named). So the open is O_NOFOLLOW (a link fails, ELOOP) and the file it opened must be a
     * regular file, read from the descriptor itself (/proc/self/fd/N) rather than the name; the
     * stream is then a FileOutputStream opened again through /proc/self/fd/N, which reaches the file
     * N holds whatever the name now is (a FileChannel's own stream would be closed by an interrupt of
     * whichever thread logs). A FIFO swapped in between the check and
     * the open still holds the open until a reader comes: Java opens nothing O_NONBLOCK, and libc is
     * not loaded yet.
     */
    private static OutputStream appendToRegularFile(Path file) throws IOException {
        FileChannel opened = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS);
        try {
            Path self = ChannelDescriptor.path(opened); // null on a JDK whose layout is not known
            int mode = self != null ? (Integer) Files.getAttribute(self, "unix:mode")
                    : (Integer) Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            if (FileType.of(mode) != FileType.S_IFREG) {
                throw new IOException("not a regular file (" + FileType.describe(mode) + ")");
            }
            if (self == null) {
                OutputStream channelStream = Channels.newOutputStream(opened);
                opened = null; // the stream's now
                return channelStream;
            }
            return new FileOutputStream(self.toFile(), true);
        } finally {
            if (opened != null) {
                opened.close();
            }
        }
    }

    /** False once a write to the file failed: the log is on standard error since. */
    boolean writesToFile() {
        return failure == null;
    }

    /**
     * The error of an open or a write in words, without the path ({@link FileNotFoundException}'s
     * message is "PATH (Reason)"; the line names the file already, quoted).
     */
    static String reason(IOException e, Path file) {
        String message = e.getMessage();
        if (message == null) {
            return e.getClass().getSimpleName();
        }
        String prefix = file.toString() + " (";
        if (message.startsWith(prefix) && message.endsWith(")")) {
            return message.substring(prefix.length(), message.length() - 1);
        }
        if (e instanceof java.nio.file.FileSystemException f) {
            return f.getReason() != null ? f.getReason() : e.getClass().getSimpleName() + " " + message;
        }
        return message;
    }

    /**
     * The file's stream, written under the appender's lock (a line's array, then a flush): a write
     * that fails moves the log to {@link #stderr} for good, the failed line included.
     */
    private final class FileOrStderr extends OutputStream {
        private final OutputStream out;

        FileOrStderr(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            if (failure == null) {
                try {
                    out.write(b, off, len);
                    return;
                } catch (IOException e) {
                    failed(e);
                }
            }
            stderr.write(b, off, len);
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void flush() {
            if (failure != null) {
                stderr.flush();
            }
        }

        @Override
        public void close() {
            if (failure == null) {
                closeQuietly();
            }
        }

        private void failed(IOException e) {
            failure = reason(e, file);
            closeQuietly(); // not tried again: a file that failed once would fail (and cost a call) on every line
            String notice = "cannot write log file " + LogText.quote(file.toString()) + ": " + failure
                    + "; the log goes to standard error from here on (nothing more is written to the file)";
            byte[] line = Logging.warningLine(LogFileAppender.this, notice);
            stderr.write(line, 0, line.length);
        }

        private void closeQuietly() {
            try {
                out.close();
            } catch (IOException ignored) {
                // nothing more goes to it
            }
        }
    }
}
