package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LogbackServiceProvider;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * The provider the launcher names (-Dslf4j.provider) must leave logback as logback's own provider
 * does (which a JVM without the property gets, finding {@link Logging.Console} through
 * META-INF/services). Each provider makes a context of its own: nothing global is touched.
 */
class LoggingProviderTest {

    @Test
    void itConfiguresLogbackAsLogbacksOwnProviderDoes() {
        List<String> own = configuration(new Logging.Provider());
        List<String> logbacks = configuration(new LogbackServiceProvider());
        assertEquals(logbacks, own);
        // and what that configuration is: the agent's console (fd 2 behind its queue), not logback's default one
        assertEquals(List.of("root level INFO", "context started true",
                "appender CONSOLE OutputStreamAppender started true stream LogLineQueue"
                        + " layout LogLineLayout charset UTF-8"), own);
    }

    @Test
    void slf4jGetsAMarkerFactoryAndTheMdcAdapterTheContextUses() {
        Logging.Provider provider = new Logging.Provider();
        provider.initialize();
        assertNotNull(provider.getMarkerFactory().getMarker("m"));
        assertSame(provider.getMDCAdapter(), ((LoggerContext) provider.getLoggerFactory()).getMDCAdapter());
        provider.getMDCAdapter().put("k", "v");
        assertEquals("v", provider.getMDCAdapter().get("k"));
        assertEquals(new LogbackServiceProvider().getRequestedApiVersion(), provider.getRequestedApiVersion());
    }

    /** The root logger's level and every appender's kind, state, target, layout and charset. */
    private static List<String> configuration(SLF4JServiceProvider provider) {
        provider.initialize();
        LoggerContext context = (LoggerContext) provider.getLoggerFactory();
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        List<String> lines = new ArrayList<>();
        lines.add("root level " + root.getLevel());
        lines.add("context started " + context.isStarted());
        for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
            Appender<ILoggingEvent> appender = it.next();
            String line = "appender " + appender.getName() + " " + appender.getClass().getSimpleName()
                    + " started " + appender.isStarted();
            if (appender instanceof OutputStreamAppender<ILoggingEvent> console) {
                line += " stream " + console.getOutputStream().getClass().getSimpleName();
                if (console.getEncoder() instanceof LayoutWrappingEncoder<ILoggingEvent> encoder) {
                    line += " layout " + encoder.getLayout().getClass().getSimpleName()
                            + " charset " + encoder.getCharset();
                }
            }
            lines.add(line);
        }
        return lines;
    }
}
