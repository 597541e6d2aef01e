package io.agentd.protocol.payload;

import java.time.Instant;

/** core.clock.sync: the host's wall clock in ns since the Unix epoch (u64). */
public record ClockSync(long unixTimeNanos) implements Payload {
    /**
     * This host's wall clock now (CLOCK_REALTIME, which {@link Instant#now} reads to the microsecond
     * on Linux), as a host sends it.
     */
    public static ClockSync hostNow() {
        Instant now = Instant.now();
        return new ClockSync(now.getEpochSecond() * 1_000_000_000L + now.getNano());
    }
}
