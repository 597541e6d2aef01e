package io.agentd.client.relay;

import java.time.Instant;

/**
 * The clock QEMU stamps its QMP events with: the host's real-time clock in microseconds since the
 * epoch ({@code g_get_real_time}), the one {@link Instant#now} reads. QMP is a unix socket, so QEMU
 * and the relay share the host and its clock: a time read here orders against an event's stamp.
 */
final class QemuClock {
    /** An event without a timestamp (QEMU always sends one): ordered after everything. */
    static final long UNKNOWN = Long.MAX_VALUE;

    private QemuClock() {}

    static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
    }
}
