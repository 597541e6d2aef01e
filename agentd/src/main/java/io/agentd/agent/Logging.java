package io.agentd.agent;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's logging, all in code: logback starts with {@link Console} (stderr, INFO), then
 * {@link #configure} applies the command line's level and, with a log file, swaps the console for a
 * file appender. No logback.xml: reading it loads Joran and an XML parser, about 500 classes and
 * 50-90 ms of start-up.
 */
public final class Logging {
    private static final String CONSOLE = "CONSOLE";

    private Logging() {}

    /**
     * logback's configuration, found through META-INF/services/ch.qos.logback.classic.spi.Configurator
     * when the first logger is asked for; it stops logback from looking for logback.xml.
     */
    public static final class Console extends ContextAwareBase implements Configurator {
        @Override
        public ExecutionStatus configure(LoggerContext ctx) {
            ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
            console.setTarget("System.err");
            root(ctx).setLevel(Level.INFO);
            root(ctx).addAppender(start(ctx, CONSOLE, console));
            return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
        }
    }

    /** @throws IllegalArgumentException when the log file cannot be opened for appending */
    static void configure(String level, Path file) {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        ch.qos.logback.classic.Logger root = root(ctx);
        root.setLevel(Level.toLevel(level, Level.INFO));
        if (file == null) {
            return;
        }
        FileAppender<ILoggingEvent> appender = new FileAppender<>();
        appender.setFile(file.toString());
        appender.setAppend(true);
        if (!start(ctx, "FILE", appender).isStarted()) {
            throw new IllegalArgumentException("cannot open log file " + file + " for appending");
        }
        root.addAppender(appender);
        root.detachAppender(CONSOLE);
    }

    /** Flushes and closes the appenders (before System.exit). */
    static void stop() {
        ((LoggerContext) LoggerFactory.getILoggerFactory()).stop();
    }

    private static ch.qos.logback.classic.Logger root(LoggerContext ctx) {
        return ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    }

    /** Starts the appender with the one {@link LogLineLayout}; the caller checks isStarted(). */
    private static <A extends OutputStreamAppender<ILoggingEvent>> A start(LoggerContext ctx, String name, A appender) {
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
