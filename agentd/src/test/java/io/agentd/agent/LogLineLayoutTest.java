package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class LogLineLayoutTest {
    /** What the agent's lines looked like through logback's PatternLayout, before LogLineLayout. */
    private static final String OLD_PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level %logger{0}: %msg%n";
    private static final String NL = System.lineSeparator();

    private final LoggerContext context = new LoggerContext();
    private final Logger connection = context.getLogger("io.agentd.agent.Connection");

    @Test
    void aLineHasTheTimeToTheMillisecondThePaddedLevelTheClassAndTheMessage() {
        LogLineLayout layout = started(new LogLineLayout(ZoneOffset.UTC));
        assertEquals("2026-12-04T07:01:34.005Z WARN  Connection: host 3 gone" + NL,
                layout.doLayout(event(Level.WARN, "2026-12-04T07:01:34.005Z", "host {} gone", 3)));
        assertEquals("2026-12-04T07:01:34.999Z ERROR Connection: x" + NL,
                layout.doLayout(event(Level.ERROR, "2026-12-04T07:01:34.999Z", "x")));
        // the second changes between two lines: the cached date is not reused
        assertEquals("2026-12-04T07:01:35.040Z INFO  Connection: y" + NL,
                layout.doLayout(event(Level.INFO, "2026-12-04T07:01:35.040Z", "y")));
    }

    @Test
    void anOffsetFromUtcIsWrittenAsPlusHoursAndMinutes() {
        LogLineLayout paris = started(new LogLineLayout(ZoneId.of("Europe/Paris")));
        assertEquals("2026-12-04T08:01:34.100+01:00 DEBUG Connection: z" + NL,
                paris.doLayout(event(Level.DEBUG, "2026-12-04T07:01:34.100Z", "z")));
        assertEquals("2026-07-04T09:01:34.100+02:00 DEBUG Connection: z" + NL,
                paris.doLayout(event(Level.DEBUG, "2026-07-04T07:01:34.100Z", "z")));
    }

    @Test
    void linesAreWhatThePatternPrintedInThisMachinesZoneAndOthers() {
        assertSameAsThePattern(OLD_PATTERN, ZoneId.systemDefault());
        // Monrovia and Amsterdam had offsets with seconds (local mean time) in these dates
        for (String zone : new String[] {"Europe/Paris", "Asia/Kolkata", "America/St_Johns", "Africa/Monrovia",
                "Europe/Amsterdam"}) {
            assertSameAsThePattern(OLD_PATTERN.replace("SSSXXX}", "SSSXXX, " + zone + "}"), ZoneId.of(zone));
        }
    }

    private void assertSameAsThePattern(String patternText, ZoneId zone) {
        LogLineLayout ours = started(new LogLineLayout(zone));
        PatternLayout pattern = pattern(patternText);
        for (String at : new String[] {"2026-12-04T07:01:34.005Z", "2026-07-04T23:59:59.999Z", "1999-01-01T00:00:00.050Z",
                "1969-12-31T23:59:59.999Z", "1930-06-01T12:00:00.000Z"}) {
            for (Level level : new Level[] {Level.TRACE, Level.DEBUG, Level.INFO, Level.WARN, Level.ERROR}) {
                ILoggingEvent e = event(level, at, "session {} exited: code={}", 7, 0);
                assertEquals(pattern.doLayout(e), ours.doLayout(e), zone + " " + at + " " + level);
            }
        }
    }

    @Test
    void theDefaultZoneIsUtcWithoutTheZoneDatabaseOnlyWhereTheJvmWouldFindUtc() throws Exception {
        java.nio.file.Path etc = java.nio.file.Files.createTempDirectory(
                java.nio.file.Files.createDirectories(java.nio.file.Path.of("target")), "etc");
        // nothing there (the guest): the JVM falls back to GMT
        assertEquals(ZoneOffset.UTC, LogLineLayout.defaultZone("", null, etc));
        assertEquals(ZoneOffset.UTC, LogLineLayout.defaultZone("", "UTC", etc));
        assertEquals(ZoneOffset.UTC, LogLineLayout.defaultZone("", ":Etc/UTC", etc));
        assertAsked(LogLineLayout.defaultZone("", "Europe/Paris", etc));
        assertAsked(LogLineLayout.defaultZone("Europe/Paris", null, etc));
        java.nio.file.Path localtime = etc.resolve("localtime");
        java.nio.file.Files.createSymbolicLink(localtime, java.nio.file.Path.of("/usr/share/zoneinfo/Etc/UTC"));
        assertEquals(ZoneOffset.UTC, LogLineLayout.defaultZone("", null, etc));
        java.nio.file.Files.writeString(etc.resolve("timezone"), "Europe/Paris\n");
        assertAsked(LogLineLayout.defaultZone("", null, etc));
        java.nio.file.Files.writeString(etc.resolve("timezone"), "Etc/UTC\n");
        assertEquals(ZoneOffset.UTC, LogLineLayout.defaultZone("", null, etc));
        java.nio.file.Files.delete(localtime);
        java.nio.file.Files.createSymbolicLink(localtime, java.nio.file.Path.of("/usr/share/zoneinfo/Europe/Paris"));
        assertAsked(LogLineLayout.defaultZone("", null, etc));
        java.nio.file.Files.delete(localtime);
        java.nio.file.Files.writeString(localtime, "TZif2 a copy of some zone");
        assertAsked(LogLineLayout.defaultZone("", null, etc));
    }

    /** The JVM was asked (ZoneId.systemDefault()): never the UTC offset itself, which only the shortcut gives. */
    private static void assertAsked(ZoneId zone) {
        assertTrue(zone != ZoneOffset.UTC, "the JVM's default zone, not the shortcut: " + zone);
    }

    @Test
    void anExceptionFollowsItsLineWithItsStackTraceAndCauses() {
        LogLineLayout layout = started(new LogLineLayout(ZoneOffset.UTC));
        IllegalStateException thrown = new IllegalStateException("boom", new java.io.IOException("disk"));
        LoggingEvent e = new LoggingEvent(Logger.class.getName(), connection, Level.ERROR, "failed", thrown, null);
        e.setTimeStamp(Instant.parse("2026-12-04T07:01:34.005Z").toEpochMilli());
        String text = layout.doLayout(e);
        assertEquals(pattern(OLD_PATTERN.replace("SSSXXX}", "SSSXXX, UTC}")).doLayout(e), text);
        assertTrue(text.startsWith("2026-12-04T07:01:34.005Z ERROR Connection: failed" + NL
                + "java.lang.IllegalStateException: boom" + NL + "\tat "), text);
        assertTrue(text.contains("Caused by: java.io.IOException: disk" + NL), text);
        assertTrue(text.contains("LogLineLayoutTest.anExceptionFollowsItsLineWithItsStackTraceAndCauses"), text);
    }

    private PatternLayout pattern(String text) {
        PatternLayout pattern = new PatternLayout();
        pattern.setContext(context);
        pattern.setPattern(text);
        pattern.start();
        return pattern;
    }

    private LogLineLayout started(LogLineLayout layout) {
        layout.setContext(context);
        layout.start();
        return layout;
    }

    private ILoggingEvent event(Level level, String at, String message, Object... args) {
        LoggingEvent e = new LoggingEvent(Logger.class.getName(), connection, level, message, null, args);
        e.setTimeStamp(Instant.parse(at).toEpochMilli());
        return e;
    }
}
