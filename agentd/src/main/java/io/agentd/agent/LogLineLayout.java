package io.agentd.agent;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.LayoutBase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;

/**
 * The agent's one log line format, {@code 2026-12-04T07:01:34.370Z INFO  Connection: message}, then
 * the stack trace of an exception if the event has one: what the pattern
 * {@code %d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level %logger{0}: %msg%n} printed, written directly.
 * logback's PatternLayout loads its whole converter table (about 130 classes and lambdas, most of
 * them for conversion words the agent never uses) at its first use, before ready, and parses every
 * event through a chain of converters; this is one StringBuilder. The date and time up to the second
 * are formatted once per second (every line of a second shares them), the milliseconds per line,
 * by hand: java.time's DateTimeFormatter and the zone database (what the JVM's default zone costs
 * when it is a named one, even UTC: tzdb.dat read and every jar searched for zone providers) were
 * a good part of the agent's start before ready, most of all under TCG (BENCHMARKS.md, "Thirtieth
 * session"); where the default zone is UTC, the layout writes UTC without asking for it.
 */
final class LogLineLayout extends LayoutBase<ILoggingEvent> {
    private static final int LEVEL_WIDTH = 5;
    /** Zone names that are UTC (the JVM's "GMT", when it finds no zone at all, prints as UTC too). */
    private static final Set<String> UTC_NAMES = Set.of("UTC", "Etc/UTC", "GMT", "Etc/GMT", "UCT", "Etc/UCT",
            "Universal", "Etc/Universal", "Zulu", "Etc/Zulu", "Greenwich", "Etc/Greenwich", "GMT0", "Etc/GMT0",
            "GMT+0", "Etc/GMT+0", "GMT-0", "Etc/GMT-0");

    private final ZoneId zone;
    /** The last second formatted; threads log at once (logback encodes outside the appender's lock). */
    private volatile Second lastSecond = new Second(Long.MIN_VALUE, "", "");

    /** One second's text: date and time ("2026-12-04T07:01:34") and offset ("Z", "+01:00"). */
    private record Second(long epochSecond, String dateTime, String offset) {}

    /** Times in the JVM's default zone, as logback's date pattern wrote them. */
    LogLineLayout() {
        this(defaultZone(System.getProperty("user.timezone", ""), System.getenv("TZ"), Path.of("/etc")));
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

    /**
     * The JVM's default zone: {@link ZoneOffset#UTC} without asking the JVM where the JVM would find
     * UTC too (TZ names UTC, or is unset and /etc/timezone and /etc/localtime, where they are there,
     * name UTC: what it reads on Linux), else {@link ZoneId#systemDefault()}.
     *
     * @param property the user.timezone property ("" when not set)
     * @param tz       the TZ variable, or null
     * @param etc      /etc (a test's stand-in)
     */
    static ZoneId defaultZone(String property, String tz, Path etc) {
        if (!property.isEmpty()) {
            return ZoneId.systemDefault();
        }
        if (tz != null) {
            return UTC_NAMES.contains(tz.startsWith(":") ? tz.substring(1) : tz) ? ZoneOffset.UTC : ZoneId.systemDefault();
        }
        return namesUtcOrIsAbsent(etc.resolve("timezone"), true) && namesUtcOrIsAbsent(etc.resolve("localtime"), false)
                ? ZoneOffset.UTC
                : ZoneId.systemDefault();
    }

    /** True when the file is not there, or names a UTC zone: by its first line, or as a link into zoneinfo/. */
    private static boolean namesUtcOrIsAbsent(Path file, boolean byContent) {
        try {
            if (!Files.exists(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                return true;
            }
            if (byContent) {
                List<String> lines = Files.readAllLines(file);
                return !lines.isEmpty() && UTC_NAMES.contains(lines.get(0).trim());
            }
            if (!Files.isSymbolicLink(file)) {
                return false; // a copy of some zone's file: only the JVM's comparison can tell which
            }
            String target = Files.readSymbolicLink(file).toString();
            int at = target.indexOf("zoneinfo/");
            return at >= 0 && UTC_NAMES.contains(target.substring(at + "zoneinfo/".length()));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private void appendTime(StringBuilder line, long epochMillis) {
        long epochSecond = Math.floorDiv(epochMillis, 1000);
        Second text = lastSecond;
        if (text.epochSecond() != epochSecond) {
            ZoneOffset offset = zone.getRules().getOffset(Instant.ofEpochSecond(epochSecond));
            text = new Second(epochSecond, dateTime(LocalDateTime.ofEpochSecond(epochSecond, 0, offset)), offset(offset));
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

    /** yyyy-MM-dd'T'HH:mm:ss. */
    private static String dateTime(LocalDateTime t) {
        StringBuilder s = new StringBuilder(19);
        int year = t.getYear();
        if (year >= 0 && year < 1000) {
            s.append(year < 10 ? "000" : year < 100 ? "00" : "0");
        }
        s.append(year).append('-');
        twoDigits(s, t.getMonthValue()).append('-');
        twoDigits(s, t.getDayOfMonth()).append('T');
        twoDigits(s, t.getHour()).append(':');
        twoDigits(s, t.getMinute()).append(':');
        return twoDigits(s, t.getSecond()).toString();
    }

    /** XXX: "Z" for UTC, else "+01:00"; seconds of an offset (local mean time before 1972) are dropped. */
    private static String offset(ZoneOffset offset) {
        int total = offset.getTotalSeconds();
        if (total == 0) {
            return "Z";
        }
        StringBuilder s = new StringBuilder(6).append(total < 0 ? '-' : '+');
        int abs = Math.abs(total);
        twoDigits(s, abs / 3600).append(':');
        return twoDigits(s, abs / 60 % 60).toString();
    }

    private static StringBuilder twoDigits(StringBuilder s, int value) {
        return s.append((char) ('0' + value / 10)).append((char) ('0' + value % 10));
    }
}
