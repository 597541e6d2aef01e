package io.agentd.agent.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

class LogLineTest {
    /** The pattern the agent's lines had under logback, which operators' tools may parse. */
    private static final DateTimeFormatter LOGBACK_PATTERN = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX");

    @Test
    void timestampsMatchJavaTimeOverFourCenturiesAndEveryOffsetKind() {
        Random random = new Random(17);
        int[] offsets = {0, 3_600_000, -18_000_000, 19_800_000, -34_200_000, 50_400_000};
        long[] edges = {0, -1, 951_782_400_000L, 951_868_799_999L, 4_107_542_399_999L, -2_208_988_800_001L};
        for (int i = 0; i < 20_000; i++) {
            long millis = i < edges.length ? edges[i] : random.nextLong() % 8_000_000_000_000L;
            int offset = offsets[i % offsets.length];
            StringBuilder ours = new StringBuilder();
            LogLine.timestamp(ours, millis, offset);
            String expected = LOGBACK_PATTERN.format(Instant.ofEpochMilli(millis)
                    .atOffset(ZoneOffset.ofTotalSeconds(offset / 1000)));
            assertEquals(expected, ours.toString(), "millis " + millis + " offset " + offset);
        }
    }

    @Test
    void aLineHasTheLevelPaddedTheClassNameAndTheStackTraceAfter() {
        String info = LogLine.format(0, Level.INFO, "io.agentd.agent.session.Sessions", "session 1 started", null);
        assertTrue(info.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) INFO  Sessions: "
                + "session 1 started\n"), info);
        String error = LogLine.format(0, Level.ERROR, "Main", "agentd failed", new IllegalStateException("boom"));
        String[] lines = error.split("\n");
        assertTrue(lines[0].endsWith(" ERROR Main: agentd failed"), error);
        assertEquals("java.lang.IllegalStateException: boom", lines[1]);
        assertTrue(lines[2].startsWith("\tat io.agentd.agent.logging.LogLineTest."), error);
    }
}
