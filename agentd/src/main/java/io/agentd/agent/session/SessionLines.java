package io.agentd.agent.session;

import io.agentd.agent.LogText;
import io.agentd.agent.spawn.SpawnSpec;
import io.agentd.agent.sys.ExitStatus;
import io.agentd.protocol.payload.ResourceUsage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lines a session writes about itself: its start, its timeout's signals, or its exit (a
 * session killed with its host has no line of its own: SessionEnds says it for all of them). Each
 * names it by the id it started under and ends with its host's connection (none while it is detached) and its number, so an operator can follow one session across an attach
 * (the host's id is then another connection's). Under Session's logger, which operators and tests
 * match. Stateless: a session holds no object for its lines (the many-session figures count every
 * object each session holds).
 */
final class SessionLines {
    private static final Logger log = LoggerFactory.getLogger(Session.class);

    private SessionLines() {}

    static void started(Session s, SpawnSpec spec, boolean tty) {
        // id is the host's request id; number is the SESSION that agentctl ps and attach show.
        log.info("session {} started: pid={} cmd={} tty={} user={} cwd={} env_keys={} connection={} number={}", s.id,
                s.pid, LogText.quote(spec.cmd()), tty, spec.user() == null ? "(agent)" : LogText.quote(spec.user()),
                spec.cwd() == null ? "(agent)" : LogText.quote(spec.cwd()), LogText.keys(spec.env()),
                s.route.connection(), s.number);
    }

    static void timeoutReached(Session s) {
        log.info("session {}: timeout reached, SIGTERM to group {} connection={} number={}", s.id, s.pid,
                connectionForLog(s), s.number);
    }

    static void stillRunningAfterTheGrace(Session s) {
        log.info("session {}: still running after the grace, SIGKILL to group {} and cgroup {} connection={}"
                + " number={}", s.id, s.pid, s.cgroup, connectionForLog(s), s.number);
    }

    static void exited(Session s, ExitStatus exit, boolean timedOut, ResourceUsage usage) {
        log.info("session {} exited: code={} signal={} timed_out={} duration_ms={} bytes_in={} bytes_out={}"
                + " cpu_user_us={} cpu_system_us={} memory_peak_bytes={} oom_killed={} connection={} number={}",
                s.id, exit.code(), exit.signal(), timedOut, durationMillis(s), s.bytesIn(), s.bytesOut(),
                usage.cpuUserUs(), usage.cpuSystemUs(), usage.memoryPeakBytes(), usage.oomKilled(),
                connectionForLog(s), s.number);
    }

    private static long durationMillis(Session s) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - s.startNanos);
    }

    /** The connection the session's lines name: its host's, or none while it has no host (detached). */
    private static Object connectionForLog(Session s) {
        return s.route.attached() ? s.route.connection() : "none (its host is gone)";
    }
}
