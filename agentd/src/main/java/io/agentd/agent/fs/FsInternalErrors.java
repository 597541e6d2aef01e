package io.agentd.agent.fs;

import io.agentd.agent.loop.LogThrottle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The log of fs operations that failed with an exception nothing expected (a bug: the host gets
 * EIO "internal error"). Whatever a host sent to cause one it can send a thousand times, and the
 * guest's console is a serial port, so it goes through a {@link LogThrottle}, agent-wide: the first
 * one with its stack trace, then at most one line per interval saying how many came meanwhile.
 * Loop thread only (one per {@link FsWorkers}, which all connections share).
 */
final class FsInternalErrors {
    private static final Logger log = LoggerFactory.getLogger(FsService.class);
    static final long LOG_INTERVAL_MILLIS = 10_000;

    private final LogThrottle throttle = new LogThrottle(LOG_INTERVAL_MILLIS);

    void report(RuntimeException e, long nowNanos) {
        long notLogged = throttle.admit(nowNanos);
        if (notLogged != LogThrottle.SKIP) {
            log.error("fs operation failed unexpectedly (answered EIO internal error){}",
                    LogThrottle.sinceLastLine(notLogged, "more"), e);
        }
    }
}
