package io.agentd.agent;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import ch.qos.logback.core.status.Status;
import ch.qos.logback.core.status.StatusUtil;
import ch.qos.logback.core.util.StatusListenerConfigHelper;
import ch.qos.logback.core.util.StatusPrinter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.helpers.Util;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * The agent's logging, all in code: logback starts with {@link Console} (stderr, INFO), then
 * {@link #configure} applies the command line's level and, with a log file, swaps the console for a
 * file appender. No logback.xml: reading it loads Joran and an XML parser, about 500 classes and
 * 50-90 ms of start-up. Either appender writes through a {@link LogLineQueue}: the loop that logs
 * never waits for the console or the file.
 */
public final class Logging {
    private static final String CONSOLE = "CONSOLE";

    private Logging() {}

    /**
     * slf4j's provider for the agent, named by the launcher ({@code -Dslf4j.provider}): logback's own
     * provider ({@code LogbackServiceProvider}) without its auto-configuration, which before it calls
     * {@link Console} reads the jars' versions, looks through every jar for configurators, asks the
     * security policy whether logback may get class loaders (which loads and parses the JDK's policy
     * files) and links its string concatenations through method handles. Without the property (the
     * tests, a JVM started by hand) slf4j finds logback's provider and that finds {@link Console}:
     * the same configuration either way.
     */
    public static final class Provider implements SLF4JServiceProvider {
        private LoggerContext context;
        private IMarkerFactory markers;
        private LogbackMDCAdapter mdc;

        @Override
        public void initialize() {
            context = new LoggerContext();
            context.setName(CoreConstants.DEFAULT_CONTEXT_NAME);
            // What logback's provider does around the configurators, in its order: an operator's
            // -Dlogback.statusListenerClass, a configuration that throws reported and the agent
            // started anyway, logback's own problems (an appender that did not start) on stderr.
            try {
                StatusListenerConfigHelper.installIfAsked(context);
                Console console = new Console();
                console.setContext(context);
                console.configure(context);
            } catch (RuntimeException e) {
                Util.report("Failed to configure the agent's logging", e);
            }
            // StatusPrinter only when there is something to print: its class starts a date formatter
            // in the JVM's zone, which loads the zone database (the layout's comment says what that costs).
            if (!StatusUtil.contextHasStatusListener(context)
                    && new StatusUtil(context).getHighestLevel(0) >= Status.WARN) {
                StatusPrinter.printInCaseOfErrorsOrWarnings(context);
            }
            context.start();
            markers = new BasicMarkerFactory();
            mdc = new LogbackMDCAdapter();
            context.setMDCAdapter(mdc);
        }

        @Override
        public ILoggerFactory getLoggerFactory() {
            return context;
        }

        @Override
        public IMarkerFactory getMarkerFactory() {
            return markers;
        }

        @Override
        public MDCAdapter getMDCAdapter() {
            return mdc;
        }

        @Override
        public String getRequestedApiVersion() {
            return "2.0.99";
        }
    }

    /**
     * logback's configuration: {@link Provider} applies it, and logback's own provider finds it
     * through META-INF/services/ch.qos.logback.classic.spi.Configurator when the first logger is
     * asked for, which stops logback from looking for logback.xml. The console is fd 2 behind a
     * {@link LogLineQueue}, not logback's ConsoleAppender, which wrote each line on the logging thread.
     */
    public static final class Console extends ContextAwareBase implements Configurator {
        @Override
        public ExecutionStatus configure(LoggerContext ctx) {
            OutputStreamAppender<ILoggingEvent> console = new OutputStreamAppender<>();
            console.setOutputStream(queue(console, new StandardError(), () -> "standard error"));
            root(ctx).setLevel(Level.INFO);
            root(ctx).addAppender(start(ctx, CONSOLE, console));
            return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
        }
    }

    /**
     * The level, and the log file when one is given. A file that cannot be opened for appending (a
     * directory there, a read-only file system) leaves the log on the console, with a line saying
     * so and why: the agent serves all the same. It used to refuse its options (exit 2), which the
     * guest's init answers by powering the VM off, though the failure is the file system's, not the
     * command line's, and a session could cause it. A file that opens but then fails a write (full,
     * or one that takes no write at all) moves the log to standard error, said there once
     * ({@link LogFileAppender}).
     */
    private static volatile LogFileAppender logFile;

    static void configure(String level, Path file) {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        ch.qos.logback.classic.Logger root = root(ctx);
        root.setLevel(Level.toLevel(level, Level.INFO));
        if (file == null) {
            return;
        }
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)
                && !Files.isDirectory(file, LinkOption.NOFOLLOW_LINKS)) { // a directory fails to open, below
            // A FIFO there held the agent in open(2) before it listened, for good (init never
            // restarts a hung agent); a link would have root append wherever it points.
            LoggerFactory.getLogger(Logging.class).warn("log file {} is not a regular file (a FIFO, a link or a"
                    + " device): the log stays on the console (standard error)", LogText.quote(file.toString()));
            return;
        }
        LogFileAppender appender;
        try {
            appender = LogFileAppender.open(file, System.err);
        } catch (IOException | RuntimeException e) {
            String why = e instanceof IOException io ? LogFileAppender.reason(io, file) : e.toString();
            LoggerFactory.getLogger(Logging.class).warn("cannot open log file {} for appending: {}; the log stays on"
                    + " the console (standard error)", LogText.quote(file.toString()), why);
            return;
        }
        if (!start(ctx, "FILE", appender).isStarted()) { // not seen: the stream is set and the encoder started
            appender.stop();
            LoggerFactory.getLogger(Logging.class).warn("cannot log to file {}: the log stays on the console"
                    + " (standard error)", LogText.quote(file.toString()));
            return;
        }
        root.addAppender(appender);
        root.detachAppender(CONSOLE);
        logFile = appender;
    }

    /**
     * Whether the log goes to the file {@link #configure} was given: not when that could not be
     * opened, nor once a write to it failed (the log is on standard error then).
     */
    static boolean toFile() {
        LogFileAppender f = logFile;
        return f != null && f.writesToFile();
    }

    /**
     * Writes what the appenders' queues hold (at most {@link LogLineQueue#CLOSE_WAIT_MILLIS} each) and
     * closes them: before System.exit and a fatal error's halt, so that the last lines are not lost.
     */
    static void stop() {
        ((LoggerContext) LoggerFactory.getILoggerFactory()).stop();
    }

    /**
     * The queue in front of {@code sink} for {@code appender}; lines it drops are told in a warning
     * naming {@code sinkName} (asked at the time: a log file's lines may have moved to standard error).
     */
    static LogLineQueue queue(OutputStreamAppender<ILoggingEvent> appender, OutputStream sink,
            Supplier<String> sinkName) {
        return new LogLineQueue(sink, LogLineQueue.CAPACITY_BYTES, (lines, bytes) -> warningLine(appender,
                lines + " log lines (" + bytes + " bytes) dropped: " + sinkName.get()
                        + " was not taking them fast enough"));
    }

    /** A warning of Logging's, encoded by {@code appender}: the lines the log's own stages add. */
    static byte[] warningLine(OutputStreamAppender<ILoggingEvent> appender, String message) {
        LoggerContext ctx = (LoggerContext) appender.getContext();
        return appender.getEncoder().encode(new LoggingEvent(Logging.class.getName(), ctx.getLogger(Logging.class),
                Level.WARN, message, null, null));
    }

    /** fd 2, each line one write(2); not closed with the appender: the JVM's own messages go there too. */
    private static final class StandardError extends FileOutputStream {
        StandardError() {
            super(FileDescriptor.err);
        }

        @Override
        public void close() {}
    }

    private static ch.qos.logback.classic.Logger root(LoggerContext ctx) {
        return ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    }

    /** Starts the appender with the one {@link LogLineLayout}; the caller checks isStarted(). */
    static <A extends OutputStreamAppender<ILoggingEvent>> A start(LoggerContext ctx, String name, A appender) {
        LogLineLayout layout = new LogLineLayout();
        layout.setContext(ctx);
        layout.start();
        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(ctx);
        encoder.setLayout(layout);
        // UTF-8 whatever the JVM's locale: the pattern's encoder used the default charset, US-ASCII
        // in a JVM started without a locale, which printed every non-ASCII character as '?'.
        encoder.setCharset(StandardCharsets.UTF_8);
        encoder.start();
        appender.setContext(ctx);
        appender.setName(name);
        appender.setEncoder(encoder);
        appender.start();
        return appender;
    }
}
