package io.agentd.agent.transport;

import io.agentd.agent.LogText;
import io.agentd.agent.loop.LogThrottle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The log lines about host input that stalls, shared by every link of the agent so that many hosts
 * stalling at once (a slow-loris attack opens dozens of connections) write a bounded number of
 * lines: at most one a second of each kind, which counts those left out. Logging is synchronous on
 * the loop thread and the guest's console may be a serial port. Loop thread only.
 */
public final class StalledInputLog {
    private static final Logger log = LoggerFactory.getLogger(PortLink.class); // the links' lines
    private static final long LINE_INTERVAL_MILLIS = 1000;

    private final LogThrottle frameTimeouts = new LogThrottle(LINE_INTERVAL_MILLIS);
    private final LogThrottle budgetWaits = new LogThrottle(LINE_INTERVAL_MILLIS);
    private final LogThrottle roomWaits = new LogThrottle(LINE_INTERVAL_MILLIS);

    /** A host was dropped for leaving a frame unfinished past --frame-timeout. */
    void frameTimedOut(String who, int fd, long idleMillis, String missing, String unfinished, long nowNanos) {
        long skipped = frameTimeouts.admit(nowNanos);
        if (skipped != LogThrottle.SKIP) {
            log.warn("{}: host link on fd {}: {} of {} came for {} ms (--frame-timeout); closing it{}", who, fd, missing,
                    LogText.message(unfinished), idleMillis,
                    LogThrottle.sinceLastLine(skipped, "connections closed the same way"));
        }
    }

    /** A link's large frame has waited this long for room in the large-frame budget. */
    void waitsForBudget(String who, int fd, long waitedMillis, long nowNanos) {
        long skipped = budgetWaits.admit(nowNanos);
        if (skipped != LogThrottle.SKIP) {
            log.info("{}: host link on fd {}: a large frame has waited {} ms for room in the large-frame budget"
                    + " (other connections' large frames hold it); its input is not read meanwhile{}", who, fd,
                    waitedMillis, LogThrottle.sinceLastLine(skipped, "links waiting as long"));
        }
    }

    /**
     * A link holds a frame whose answer may be large until its host has read the {@code ownKiB} queued
     * for it before the frame, or every host's queues together are back within the agent's budget.
     */
    void waitsForRoom(String who, int fd, String type, long queuedMiB, long ownKiB, long nowNanos) {
        long skipped = roomWaits.admit(nowNanos);
        if (skipped != LogThrottle.SKIP) {
            log.info("{}: host link on fd {}: {} waits until this host has read the {} KiB queued for it before it,"
                    + " or the hosts' output queues (together {} MiB) are back within the agent's budget;"
                    + " this host's later frames wait behind it{}", who, fd, type, ownKiB, queuedMiB,
                    LogThrottle.sinceLastLine(skipped, "links waiting the same way"));
        }
    }
}
