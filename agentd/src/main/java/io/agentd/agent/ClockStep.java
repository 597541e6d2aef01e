package io.agentd.agent;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.MessageType;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * core.clock.sync: the guest's clock stepped to the host's time of day when it is off by more than
 * {@link #THRESHOLD_NANOS}, and the lines that say so (at the rates of the agent's clock throttles:
 * a host may send them in a loop). No reply. Static, on the connection it is given. Loop thread only.
 */
final class ClockStep {
    private static final Logger log = LoggerFactory.getLogger(Connection.class); // the connections' lines
    /** clock.sync steps the clock only when it is off by more than this. */
    static final long THRESHOLD_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private ClockStep() {
    }

    /** The host on {@code c} says it is {@code hostNanos} past the epoch (a frame on {@code id}). */
    static void sync(Connection c, long id, long hostNanos) {
        if (hostNanos < 0) {
            c.link().refuse(id, ErrorKind.INVALID_PAYLOAD, MessageType.CORE_CLOCK_SYNC.wire(),
                    "unix_time_nanos beyond year 2262");
            return;
        }
        try {
            long offset = hostNanos - Os.clockNanos(LibC.CLOCK_REALTIME);
            if (!needsStep(offset)) {
                if (c.agent.clockLeftAloneLog.takeIfLogged()) { // a host may send them in a loop
                    log.debug("clock.sync: off by {} ms, left alone", TimeUnit.NANOSECONDS.toMillis(offset));
                }
                return;
            }
            Os.setClockNanos(LibC.CLOCK_REALTIME, hostNanos);
            if (c.agent.clockLog.take()) {
                log.info("clock.sync: clock stepped by {} ms", TimeUnit.NANOSECONDS.toMillis(offset));
            }
        } catch (OsException e) {
            if (c.agent.clockLog.take()) {
                log.warn("clock.sync: clock not stepped: {}", e.getMessage());
            }
        }
    }

    static boolean needsStep(long offsetNanos) {
        return Math.abs(offsetNanos) > THRESHOLD_NANOS;
    }
}
