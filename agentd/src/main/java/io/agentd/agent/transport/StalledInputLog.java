package io.agentd.agent.transport;

import io.agentd.agent.LogText;
import io.agentd.agent.loop.LogThrottle;
import io.agentd.agent.loop.Loop;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The log lines about host input that stalls, shared by every link of the agent so that many hosts
 * stalling at once (a slow-loris attack opens dozens of connections) write a bounded number of
 * lines: at most one a second of each kind, and a line counting those left out when the second is over. Logging is synchronous on
 * the loop thread and the guest's console may be a serial port. Loop thread only.
 */
public final class StalledInputLog {
    private static final Logger log = LoggerFactory.getLogger(PortLink.class); // the links' lines
    private static final long LINE_INTERVAL_MILLIS = 1000;

    private final LogThrottle frameTimeouts;
    private final LogThrottle budgetWaits;
    private final LogThrottle roomWaits;

    public StalledInputLog(Loop loop) {
        frameTimeouts = new LogThrottle(loop, LINE_INTERVAL_MILLIS, log, Level.WARN,
                "connections closed for a frame cut short (--frame-timeout)");
        budgetWaits = new LogThrottle(loop, LINE_INTERVAL_MILLIS, log, Level.INFO,
                "lines of links whose large frame waits for room in the large-frame budget");
        roomWaits = new LogThrottle(loop, LINE_INTERVAL_MILLIS, log, Level.INFO,
                "lines of links whose frame waits until their host has read what was queued before it");
    }

    /** A host was dropped for leaving a frame unfinished past --frame-timeout. */
    void frameTimedOut(String who, int fd, long idleMillis, String missing, String unfinished) {
        if (frameTimeouts.take()) {
            log.warn("{}: host link on fd {}: {} of {} came for {} ms (--frame-timeout); closing it", who, fd, missing,
                    LogText.message(unfinished), idleMillis);
        }
    }

    /** A link's large frame has waited this long for room in the large-frame budget. */
    void waitsForBudget(String who, int fd, long waitedMillis) {
        if (budgetWaits.take()) {
            log.info("{}: host link on fd {}: a large frame has waited {} ms for room in the large-frame budget"
                    + " (other connections' large frames hold it); its input is not read meanwhile", who, fd,
                    waitedMillis);
        }
    }

    /**
     * A link holds a frame whose answer may be large until its host has read the {@code ownKiB} queued
     * for it before the frame, or every host's queues together are back within the agent's budget.
     */
    void waitsForRoom(String who, int fd, String type, long queuedMiB, long ownKiB) {
        if (roomWaits.take()) {
            log.info("{}: host link on fd {}: {} waits until this host has read the {} KiB queued for it before it,"
                    + " or the hosts' output queues (together {} MiB) are back within the agent's budget;"
                    + " this host's later frames wait behind it", who, fd, type, ownKiB, queuedMiB);
        }
    }
}
