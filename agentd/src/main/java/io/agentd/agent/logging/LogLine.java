package io.agentd.agent.logging;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.TimeZone;
import org.slf4j.event.Level;

/**
 * One log line as operators read it: {@code 2026-12-01T20:30:44.856Z INFO  Sessions: message}, the
 * local time with its UTC offset to the millisecond, the level padded to five, the logger's class
 * name without its package, then the stack trace of a throwable on the lines after it.
 */
final class LogLine {
    private static final long MILLIS_PER_DAY = 86_400_000L;

    private LogLine() {}

    static String format(long epochMillis, Level level, String loggerName, String message, Throwable thrown) {
        StringBuilder line = new StringBuilder(64 + message.length());
        timestamp(line, epochMillis, TimeZone.getDefault().getOffset(epochMillis));
        line.append(' ').append(level.name());
        for (int i = level.name().length(); i < 5; i++) {
            line.append(' ');
        }
        line.append(' ').append(loggerName, loggerName.lastIndexOf('.') + 1, loggerName.length())
                .append(": ").append(message).append('\n');
        if (thrown != null) {
            StringWriter trace = new StringWriter();
            thrown.printStackTrace(new PrintWriter(trace));
            line.append(trace);
        }
        return line.toString();
    }

    /** yyyy-MM-dd'T'HH:mm:ss.SSS then Z or +hh:mm: java.time would load some 80 classes for this. */
    static void timestamp(StringBuilder to, long epochMillis, int offsetMillis) {
        long local = epochMillis + offsetMillis;
        long days = Math.floorDiv(local, MILLIS_PER_DAY);
        int ofDay = (int) Math.floorMod(local, MILLIS_PER_DAY);
        // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil, inverted).
        long z = days + 719_468;
        long era = Math.floorDiv(z, 146_097);
        long dayOfEra = z - era * 146_097;
        long yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365;
        long dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
        long mp = (5 * dayOfYear + 2) / 153;
        long day = dayOfYear - (153 * mp + 2) / 5 + 1;
        long month = mp < 10 ? mp + 3 : mp - 9;
        long year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
        pad(to, year, 4).append('-');
        pad(to, month, 2).append('-');
        pad(to, day, 2).append('T');
        pad(to, ofDay / 3_600_000, 2).append(':');
        pad(to, ofDay / 60_000 % 60, 2).append(':');
        pad(to, ofDay / 1000 % 60, 2).append('.');
        pad(to, ofDay % 1000, 3);
        if (offsetMillis == 0) {
            to.append('Z');
            return;
        }
        int minutes = Math.abs(offsetMillis) / 60_000;
        to.append(offsetMillis < 0 ? '-' : '+');
        pad(to, minutes / 60, 2).append(':');
        pad(to, minutes % 60, 2);
    }

    private static StringBuilder pad(StringBuilder to, long value, int digits) {
        String s = Long.toString(value);
        for (int i = s.length(); i < digits; i++) {
            to.append('0');
        }
        return to.append(s);
    }
}
