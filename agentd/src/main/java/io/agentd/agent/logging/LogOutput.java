package io.agentd.agent.logging;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.slf4j.event.Level;

/**
 * Where the agent's log lines go (stderr until a log file is set) and the lowest level written; one
 * per process, shared by every logger. Each line, with its stack trace, is written in one write
 * under a lock, so lines of different threads never interleave, and reaches the file or stderr
 * before the call returns (nothing is buffered that a crash could lose).
 */
public final class LogOutput {
    private static final Object LOCK = new Object();
    private static volatile int lowest = Level.INFO.toInt();
    private static OutputStream out = System.err;

    private LogOutput() {}

    /** Lines below {@code level} are dropped from now on. */
    public static void setLevel(Level level) {
        lowest = level.toInt();
    }

    static boolean enabled(Level level) {
        return level.toInt() >= lowest;
    }

    /**
     * Appends every line from now on to {@code file} instead of stderr.
     *
     * @throws IOException when the file cannot be opened for appending (stderr stays)
     */
    public static void toFile(Path file) throws IOException {
        FileOutputStream appending = new FileOutputStream(file.toFile(), true);
        synchronized (LOCK) {
            out = appending;
        }
    }

    static void write(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        synchronized (LOCK) {
            try {
                out.write(bytes);
                out.flush();
            } catch (IOException e) {
                // A log that cannot be written (disk full) must not stop the agent; the line is lost.
            }
        }
    }

    /** Closes a log file (before exit); later lines go to stderr. */
    public static void close() {
        synchronized (LOCK) {
            if (out != System.err) {
                try {
                    out.close();
                } catch (IOException e) {
                    // nothing is left to report it to
                }
                out = System.err;
            }
        }
    }
}
