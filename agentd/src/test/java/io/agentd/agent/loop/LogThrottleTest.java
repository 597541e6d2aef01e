package io.agentd.agent.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * A burst through a throttle with a loop gets its first line, and the count of those left out
 * comes out in a line of its own when the interval is over: not on a later line about something
 * else, and not never (a burst of 1,000 refused peers, then nothing, left no count at all).
 */
class LogThrottleTest {
    private final ScriptedLoop loop = new ScriptedLoop();
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(LogThrottleTest.class);
    private final LogThrottle throttle = new LogThrottle(loop, 10_000, logger, Level.WARN, "refused connections");

    @BeforeEach
    void capture() {
        lines.start();
        logger.addAppender(lines);
    }

    @AfterEach
    void release() {
        logger.detachAppender(lines);
    }

    private List<String> messages() {
        return lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Test
    void aBurstsCountComesOutOnItsOwnWhenTheIntervalIsOver() {
        assertTrue(throttle.take(), "the first gets a line");
        for (int i = 0; i < 999; i++) {
            loop.advance(1);
            assertFalse(throttle.take());
        }
        assertEquals(List.of(), messages(), "nothing during the interval");
        loop.advance(10_000 - 999 - 1);
        assertEquals(List.of(), messages(), "nothing before the interval is over");
        loop.advance(1);
        assertEquals(List.of("999 more refused connections in the last 10 s not logged"), messages());
        assertEquals(ch.qos.logback.classic.Level.WARN, lines.list.get(0).getLevel(), "at the lines' level");
        loop.advance(60_000);
        assertEquals(1, messages().size(), "counted once");
        assertEquals(0, loop.pendingTimers());
    }

    @Test
    void theNextLineAfterABurstComesAfterItsCountAndCarriesNone() {
        assertTrue(throttle.take());
        assertFalse(throttle.take());
        loop.advance(9_999);
        assertFalse(throttle.take());
        assertEquals(List.of(), messages());
        loop.advance(1);
        assertEquals(List.of("2 more refused connections in the last 10 s not logged"), messages());
        assertTrue(throttle.take(), "a new interval: the next gets a line");
        assertEquals(1, messages().size(), "the throttle logs nothing for the one it lets through");
        assertFalse(throttle.take());
        loop.advance(10_000);
        assertEquals("1 more refused connections in the last 10 s not logged", messages().get(1));
    }

    @Test
    void aLoneOccurrenceLeavesNoCountAndNoTimer() {
        assertTrue(throttle.take());
        loop.advance(10_000);
        assertTrue(throttle.take());
        loop.advance(60_000);
        assertEquals(List.of(), messages());
        assertEquals(0, loop.pendingTimers());
    }

    @Test
    void intervalsAreNamedAsTheyRead() {
        LogThrottle second = new LogThrottle(loop, 1_000, logger, Level.INFO, "signals");
        LogThrottle minute = new LogThrottle(loop, 60_000, logger, Level.INFO, "lists");
        second.take();
        second.take();
        minute.take();
        minute.take();
        loop.advance(60_000);
        assertEquals(List.of("1 more signals in the last second not logged", "1 more lists in the last minute not logged"),
                messages());
    }

    /**
     * A debug line through {@link LogThrottle#takeIfLogged}: while debug is off nothing is counted
     * and no timer is set (a level check is all it costs); once on, it is throttled as any line,
     * its count at debug.
     */
    @Test
    void aDebugLineCostsNothingWhileDebugIsOffAndIsThrottledOnceOn() {
        LogThrottle debug = new LogThrottle(loop, 10_000, logger, Level.DEBUG, "clock.sync lines (clock left alone)");
        ch.qos.logback.classic.Level before = logger.getLevel();
        try {
            logger.setLevel(ch.qos.logback.classic.Level.INFO);
            for (int i = 0; i < 1000; i++) {
                assertFalse(debug.takeIfLogged());
            }
            assertEquals(0, loop.pendingTimers(), "nothing scheduled for lines that are not logged");
            loop.advance(60_000);
            assertEquals(List.of(), messages(), "nor counted");
            logger.setLevel(ch.qos.logback.classic.Level.DEBUG);
            assertTrue(debug.takeIfLogged(), "debug on: the first gets a line");
            for (int i = 0; i < 500; i++) {
                assertFalse(debug.takeIfLogged());
            }
            loop.advance(10_000);
            assertEquals(List.of("500 more clock.sync lines (clock left alone) in the last 10 s not logged"), messages());
            assertEquals(ch.qos.logback.classic.Level.DEBUG, lines.list.get(0).getLevel());
        } finally {
            logger.setLevel(before);
        }
    }
}
