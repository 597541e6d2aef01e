package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** A host that causes an internal error a thousand times gets the agent's log a line, not a thousand. */
class FsInternalErrorsTest {
    @Test
    void aThousandInternalErrorsLogOneLineThenOnePerIntervalWithTheCount() {
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        Logger logger = (Logger) LoggerFactory.getLogger(FsService.class);
        logger.addAppender(lines);
        try {
            FsInternalErrors errors = new FsInternalErrors();
            long t0 = 1_000_000_000L;
            for (int i = 0; i < 1000; i++) {
                errors.report(new ArithmeticException("long overflow"), t0 + i);
            }
            assertEquals(1, lines.list.size());
            assertNotNull(lines.list.get(0).getThrowableProxy(), "the first one with its stack trace");

            errors.report(new ArithmeticException("long overflow"),
                    t0 + TimeUnit.MILLISECONDS.toNanos(FsInternalErrors.LOG_INTERVAL_MILLIS));
            assertEquals(2, lines.list.size());
            String second = lines.list.get(1).getFormattedMessage();
            assertTrue(second.contains("(999 more since the last such line)"), second);
        } finally {
            logger.detachAppender(lines);
        }
    }
}
