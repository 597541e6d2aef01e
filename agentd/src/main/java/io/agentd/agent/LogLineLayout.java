package io.agentd.agent;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.LayoutBase;
import java.time.Instant;
import java.time.ZoneId;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;

/**
 * The agent's one log line format, {@code 2026-12-04T07:01:34.370Z INFO  Connection: message}, then
 * the stack trace of an exception if the event has one: what the pattern
 * {@code %d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level %logger{0}: %msg%n} printed, written directly.
 * logback's PatternLayout loads its whole converter table (about 130 classes and lambdas, most of
 * them for conversion words the agent never uses) at its first use, before ready, and parses every
 * event through a chain of converters; this is one StringBuilder. The date and time up to the second
 * are formatted once per second (every line of a second shares them), the milliseconds per line.
 */
final class LogLineLayout extends LayoutBase<ILoggingEvent> {
    private static final DateTimeFormatter TO_SECOND = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss");
    /** "Z" for UTC, else "+01:00": seconds of an offset (local mean time before 1972) are dropped, as XXX did. */
    private static final DateTimeFormatter OFFSET = DateTimeFormatter.ofPattern("XXX");
    private static final int LEVEL_WIDTH = 5;

    private final ZoneId zone;
    /** The last second formatted; threads log at once (logback encodes outside the appender's lock). */
    private volatile Second lastSecond = new Second(Long.MIN_VALUE, "", "");

    /** One second's text: date and time ("2026-12-04T07:01:34") and offset ("Z", "+01:00"). */
    private record Second(long epochSecond, String dateTime, String offset) {}

    /** Times in the JVM's default zone, as logback's date pattern wrote them. */
    LogLineLayout() {
        this(ZoneId.systemDefault());
    }

    LogLineLayout(ZoneId zone) {
        this.zone = zone;
    }

    @Override
    public String doLayout(ILoggingEvent event) {
        StringBuilder line = new StringBuilder(128);
        appendTime(line, event.getTimeStamp());
        line.append(' ');
        String level = event.getLevel().toString();
        line.append(level);
        for (int pad = level.length(); pad < LEVEL_WIDTH; pad++) {
            line.append(' ');
        }
        line.append(' ');
        String logger = event.getLoggerName();
        line.append(logger, logger.lastIndexOf('.') + 1, logger.length());
        line.append(": ").append(event.getFormattedMessage()).append(System.lineSeparator());
        IThrowableProxy thrown = event.getThrowableProxy();
        if (thrown != null) {
            line.append(ThrowableProxyUtil.asString(thrown));
        }
        return line.toString();
    }

    private void appendTime(StringBuilder line, long epochMillis) {
        long epochSecond = Math.floorDiv(epochMillis, 1000);
        Second text = lastSecond;
        if (text.epochSecond() != epochSecond) {
            Instant instant = Instant.ofEpochSecond(epochSecond);
            OffsetDateTime local = instant.atOffset(zone.getRules().getOffset(instant));
            text = new Second(epochSecond, TO_SECOND.format(local), OFFSET.format(local));
            lastSecond = text;
        }
        int millis = (int) Math.floorMod(epochMillis, 1000);
        line.append(text.dateTime()).append('.');
        if (millis < 100) {
            line.append('0');
        }
        if (millis < 10) {
            line.append('0');
        }
        line.append(millis).append(text.offset());
    }
}
