package io.agentd.agent.session;

import io.agentd.agent.LogText;
import io.agentd.agent.session.cgroup.SessionCgroup;
import io.agentd.agent.spawn.SpawnSpec;
import io.agentd.agent.sys.ExitStatus;
import io.agentd.protocol.payload.ResourceUsage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lines a session writes about itself: its start, its timeout's signals, its exit, or its
 * abandoning. Each names it by the id it started under and ends with its host's connection (none
 * while it is detached) and its number, so an operator can follow one session across an attach
 * (the host's id is then another connection's). Under Session's logger, which operators and tests
 * match.
 */
final class SessionLines {
    private static final Logger log = LoggerFactory.getLogger(Session.class);

    /** The id the session was started under. */
    private final long id;
    private final int pid;
    private final long number;
    private final SessionRoute route;
    private final long startNanos = System.nanoTime();

    SessionLines(long id, int pid, long number, SessionRoute route) {
        this.id = id;
        this.pid = pid;
        this.number = number;
        this.route = route;
    }

    void started(SpawnSpec spec, boolean tty) {
        // id is the host's request id; number is the SESSION that agentctl ps and attach show.
        log.info("session {} started: pid={} cmd={} tty={} user={} cwd={} env_keys={} connection={} number={}", id,
                pid, LogText.quote(spec.cmd()), tty, spec.user() == null ? "(agent)" : LogText.quote(spec.user()),
                spec.cwd() == null ? "(agent)" : LogText.quote(spec.cwd()), LogText.keys(spec.env()),
                route.connection(), number);
    }

    void timeoutReached() {
        log.info("session {}: timeout reached, SIGTERM to group {} connection={} number={}", id, pid, connectionForLog(),
                number);
    }

    void stillRunningAfterTheGrace(SessionCgroup cgroup) {
        log.info("session {}: still running after the grace, SIGKILL to group {} and cgroup {} connection={}"
                + " number={}", id, pid, cgroup, connectionForLog(), number);
    }

    void exited(ExitStatus exit, boolean timedOut, long bytesIn, long bytesOut, ResourceUsage usage) {
        log.info("session {} exited: code={} signal={} timed_out={} duration_ms={} bytes_in={} bytes_out={}"
                + " cpu_user_us={} cpu_system_us={} memory_peak_bytes={} oom_killed={} connection={} number={}",
                id, exit.code(), exit.signal(), timedOut, durationMillis(), bytesIn, bytesOut,
                usage.cpuUserUs(), usage.cpuSystemUs(), usage.memoryPeakBytes(), usage.oomKilled(),
                connectionForLog(), number);
    }

    void abandoned(long bytesIn, long bytesOut) {
        // No exit line follows (no exit is sent or held): this line says what that one would have.
        log.info("session {} abandoned (host gone): pid={} killed, no exit line follows: duration_ms={} bytes_in={}"
                + " bytes_out={} connection={} number={}", id, pid, durationMillis(), bytesIn, bytesOut,
                route.connection(), number);
    }

    private long durationMillis() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    /** The connection the session's lines name: its host's, or none while it has no host (detached). */
    private Object connectionForLog() {
        return route.attached() ? route.connection() : "none (its host is gone)";
    }
}
