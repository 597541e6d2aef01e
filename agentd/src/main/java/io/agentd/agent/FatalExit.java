package io.agentd.agent;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;

/**
 * How the agent ends on an {@link Error} (out of memory, stack overflow, a broken class): one log line,
 * then the process halts with {@link #STATUS} at once, without shutdown hooks that could wait on a
 * state nobody can reason about. Its sessions are left running; the next agent kills them from their
 * records before it serves.
 *
 * <p>An OutOfMemoryError usually leaves no heap for its own log line (the event, the message, the
 * stack trace's proxy): the line was lost under a flood of stdin on CI while the exit status said
 * nothing of why. So the heap keeps a reserve that this class frees before it logs, and a line
 * prepared at start-up goes to stderr when even that fails. The halt itself needs heap the first time
 * (it initializes {@code java.lang.Shutdown}): without it the Error would leave the halt and the agent
 * would go on without the thread it ended, so {@link #prepare} does that at start.
 */
final class FatalExit {
    static final int STATUS = 3;
    /** Enough for logback to build and write one error event with an Error's stack trace. */
    private static final int HEADROOM_BYTES = 256 * 1024;

    private static final byte[] LAST_RESORT_LINE = ("agentd: fatal error (its log line could not be written),"
            + " the agent exits " + STATUS + "\n").getBytes(StandardCharsets.US_ASCII);
    private static final FileOutputStream STDERR = new FileOutputStream(FileDescriptor.err);
    private static final Runtime RUNTIME = Runtime.getRuntime();
    private static volatile byte[] headroom;

    private FatalExit() {}

    /** Called once at start, before anything the host sends is held. */
    static void prepare() {
        prepareTheHalt();
        headroom = new byte[HEADROOM_BYTES];
    }

    /** What {@link Runtime#halt} would allocate, done now: Shutdown's class, its locks and hook table. */
    static void prepareTheHalt() {
        try {
            Class.forName("java.lang.Shutdown");
        } catch (ClassNotFoundException notThisJdk) {
            // a JDK without it halts some other way; nothing to prepare
        }
    }

    static void now(Logger log, Error e) {
        headroom = null;
        try {
            log.error("fatal error, the agent exits {} (its sessions are killed by the next agent's start)",
                    STATUS, e);
            Logging.stop();
        } catch (Throwable logFailed) {
            try {
                STDERR.write(LAST_RESORT_LINE);
            } catch (IOException | RuntimeException | Error nothingLeft) {
                // nothing is left to tell it with; the exit status says it
            }
        }
        RUNTIME.halt(STATUS);
    }
}
