package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * A log file whose writes fail (a full file system, a file that takes no write) moves the log to
 * standard error with one line there naming the file and the error. logback's FileAppender kept the
 * failure in its status manager and dropped every line after it: the log was lost without a word.
 * Each test has a logger context of its own: the agent's logging is not touched.
 */
class LogFileAppenderTest {
    private final LoggerContext context = new LoggerContext();
    private final ByteArrayOutputStream stderrBytes = new ByteArrayOutputStream();
    private final PrintStream stderr = new PrintStream(stderrBytes, true, StandardCharsets.UTF_8);

    /** A file that takes {@code accepted} writes, then fails every one with ENOSPC's message. */
    private static final class FillingFile extends OutputStream {
        final ByteArrayOutputStream written = new ByteArrayOutputStream();
        final int accepted;
        int writes;

        FillingFile(int accepted) {
            this.accepted = accepted;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (++writes > accepted) {
                throw new IOException("No space left on device");
            }
            written.write(b, off, len);
        }
    }

    private Logger logger(LogFileAppender appender) {
        context.setMDCAdapter(new LogbackMDCAdapter());
        Logging.start(context, "FILE", appender);
        assertTrue(appender.isStarted());
        Logger logger = context.getLogger("io.agentd.agent.Test");
        logger.addAppender(appender);
        return logger;
    }

    @Test
    void aWriteThatFailsMovesTheLogToStandardErrorSayingSoOnce() {
        FillingFile file = new FillingFile(2);
        LogFileAppender appender = new LogFileAppender(Path.of("/var/log/agentd.log"), file, stderr);
        Logger log = logger(appender);
        log.info("line 1");
        log.info("line 2");
        assertTrue(appender.writesToFile());
        assertEquals("", stderrBytes.toString(StandardCharsets.UTF_8));
        for (int i = 3; i <= 1000; i++) {
            log.info("line {}", i);
        }
        String inFile = file.written.toString(StandardCharsets.UTF_8);
        String err = stderrBytes.toString(StandardCharsets.UTF_8);
        assertTrue(inFile.contains("Test: line 1\n") && inFile.contains("Test: line 2\n"), inFile);
        assertEquals(2, inFile.lines().count(), inFile);
        assertFalse(appender.writesToFile());
        // one notice, at warn, naming the file and the error, then every line from the one that failed
        String[] lines = err.split("\n");
        assertEquals(1 + 998, lines.length, err);
        assertTrue(lines[0].matches("\\S+ WARN  Logging: cannot write log file \"/var/log/agentd.log\": No space left"
                + " on device; the log goes to standard error from here on \\(nothing more is written to the file\\)"),
                lines[0]);
        assertTrue(lines[1].endsWith("Test: line 3") && lines[998].endsWith("Test: line 1000"), err);
        assertEquals(1, err.split("cannot write log file", -1).length - 1, err);
        // the file is not tried again on every line (nor reopened): the third write was its last
        assertEquals(3, file.writes);
    }

    /** A file that opens for appending but takes no write at all: /proc/version, which root may open. */
    @Test
    void aFileThatTakesNoWriteIsToldAtTheFirstLine() throws Exception {
        LogFileAppender appender;
        try {
            appender = LogFileAppender.open(Path.of("/proc/version"), stderr);
        } catch (IOException e) {
            assumeTrue(false, "/proc/version does not open for appending here (not root): " + e);
            return;
        }
        Logger log = logger(appender);
        log.info("agentd serving");
        log.info("session 1 started");
        appender.stop();
        String err = stderrBytes.toString(StandardCharsets.UTF_8);
        assertTrue(err.matches("(?s)\\S+ WARN  Logging: cannot write log file \"/proc/version\": [^;\\n]+; the log goes to"
                + " standard error from here on[^\\n]*\\n\\S+ INFO  Test: agentd serving\\n\\S+ INFO  Test: session 1"
                + " started\\n"), err);
    }

    @Test
    void linesGoToTheFileWhileItTakesThem() throws Exception {
        Path dir = newDir();
        Path file = dir.resolve("sub/agent.log"); // its directory made, as logback's FileAppender did
        LogFileAppender appender = LogFileAppender.open(file, stderr);
        Logger log = logger(appender);
        log.info("one");
        log.warn("two");
        appender.stop();
        String inFile = Files.readString(file);
        assertTrue(inFile.matches("\\S+ INFO  Test: one\\n\\S+ WARN  Test: two\\n"), inFile);
        assertEquals("", stderrBytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void theReasonOfAFailedOpenLeavesOutThePathTheLineNamesAlready() throws IOException {
        Path dir = newDir();
        Path file = dir.resolve("agent.log");
        assertEquals("Is a directory",
                LogFileAppender.reason(new FileNotFoundException(file + " (Is a directory)"), file));
        assertEquals("Read-only file system",
                LogFileAppender.reason(new FileNotFoundException(file + " (Read-only file system)"), file));
        assertEquals("No space left on device", LogFileAppender.reason(new IOException("No space left on device"), file));
        IOException opened = assertThrowsIo(() -> LogFileAppender.open(dir, stderr));
        assertEquals("Is a directory", LogFileAppender.reason(opened, dir));
    }

    /**
     * The open itself follows no link: Logging's check of the name comes first, but whoever may write
     * the log's directory can swap a link in after it, and a FileOutputStream opened through it
     * (root appended to the link's target, and made a missing one).
     */
    @Test
    void aLinkAtThePathIsNotOpenedAndItsTargetIsLeftAlone() throws Exception {
        Path dir = newDir();
        Path target = Files.writeString(dir.resolve("victim"), "untouched\n");
        Path link = Files.createSymbolicLink(dir.resolve("agent.log"), target);
        IOException e = assertThrowsIo(() -> LogFileAppender.open(link, stderr));
        assertTrue(LogFileAppender.reason(e, link).contains("symbolic link"), LogFileAppender.reason(e, link));
        assertEquals("untouched\n", Files.readString(target));

        Path missing = dir.resolve("made-through-the-link");
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling.log"), missing);
        assertThrowsIo(() -> LogFileAppender.open(dangling, stderr));
        assertFalse(Files.exists(missing), "no file made where the link points");
    }

    /** What the open reached must be a regular file: a device swapped in for the name is not logged to. */
    @Test
    void aFileOpenedThatIsNotARegularFileIsRefused() {
        Path device = Path.of("/dev/null");
        IOException e = assertThrowsIo(() -> LogFileAppender.open(device, stderr));
        assertEquals("not a regular file (a character device)", LogFileAppender.reason(e, device));
    }

    /** A directory of the test's own under target (the build gives the tests no java.io.tmpdir). */
    private static Path newDir() throws IOException {
        return Files.createTempDirectory(Files.createDirectories(Path.of("target")), "log-file-").toAbsolutePath();
    }

    private interface IoCall {
        void run() throws IOException;
    }

    private static IOException assertThrowsIo(IoCall call) {
        try {
            call.run();
        } catch (IOException e) {
            return e;
        }
        throw new AssertionError("no IOException");
    }
}
