package io.agentd.agent.spawn;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.ProcNumber;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's place before the kernel's OOM killer, and the one its sessions start with: what
 * systemd's OOMScoreAdjust= does for a service, done by the agent so that every deployment gets it.
 * When the guest runs out of memory and no session has a memory limit, the OOM killer takes the
 * process with the highest score, memory used plus oom_score_adj: at 0 that was the agent (its JVM
 * larger than any one session process), and the agent init started again was killed again within
 * seconds, every host's sessions lost each time (a review: 80 shells of 16 MiB each in a 768 MiB
 * guest). At its start the agent sets its own /proc/self/oom_score_adj (--oom-score-adj, default
 * {@value #AGENT_DEFAULT}); each spawn's child writes back the value the agent was started with
 * (native-shim's restore_oom_score_adj, {@link #childValue}), so that the sessions' processes are
 * the ones taken, and cannot lower themselves back to the agent's value.
 *
 * <p>-999 rather than -1000 (the kubelet's own choice for itself): -1000 takes a process out of the
 * OOM killer's reach for good, and an agent that itself held the memory (a leak) would have every
 * session killed and then the guest panic with nothing left to kill; at -999 the kernel takes the
 * agent only once no process of a higher score is left (its scores go below 0, the guest's 6.1
 * among them; older kernels count every score as at least 1, which leaves the agent with the
 * processes at the bottom), and init starts a new one. Lowering the value needs CAP_SYS_RESOURCE (a
 * root agent has it; raising needs nothing), and an agent that is not root cannot write its own
 * /proc files once non-dumpable; without either the agent says so and serves unprotected.
 */
public final class OomScoreAdj {
    private static final Logger log = LoggerFactory.getLogger(OomScoreAdj.class);

    /** The agent's value unless --oom-score-adj says otherwise. */
    public static final int AGENT_DEFAULT = -999;
    /** The kernel's range. */
    public static final int MIN = -1000;
    public static final int MAX = 1000;

    static final Path SELF = Path.of("/proc/self/oom_score_adj");

    /** Sessions inherit the agent's value, nothing asked of the child (a spawner nobody configured). */
    public static final OomScoreAdj INHERITED = new OomScoreAdj(null, null, null, null);

    /** The value the agent was started with; null when it could not be read. */
    private final Integer started;
    /** The value asked for; null: keep the one it was started with. */
    private final Integer target;
    /** The agent's value after its start: {@link #target} when it was set, else {@link #started}. */
    private final Integer now;
    /** Why the target was not set (an errno name and what it means), or null. */
    private final String refusal;

    OomScoreAdj(Integer started, Integer target, Integer now, String refusal) {
        this.started = started;
        this.target = target;
        this.now = now;
        this.refusal = refusal;
    }

    /**
     * Sets this process's oom_score_adj to {@code target} (null: leaves it as it was started) and
     * answers what its children start with. Called once at the agent's start, before any session,
     * after the agent made itself non-dumpable: its /proc/self files then belong to root, as the
     * spawn's child finds them, so a write the agent could make, the child can make too. A refusal
     * is one line (a warning for a root agent), and the agent carries on unprotected.
     */
    public static OomScoreAdj setForAgent(Integer target) {
        return setForAgent(SELF, target);
    }

    /** {@link #setForAgent(Integer)} on {@code file} (this process's, or a test's stand-in). */
    static OomScoreAdj setForAgent(Path file, Integer target) {
        Integer started = read(file);
        if (started == null) {
            log.warn("cannot read {} (no /proc?): the agent's oom_score_adj is left as it is, and sessions inherit it;"
                    + " the kernel's OOM killer may take the agent before the sessions' processes", file);
            return new OomScoreAdj(null, target, null, "unreadable");
        }
        if (target == null || target.equals(started)) {
            return new OomScoreAdj(started, target, started, null);
        }
        LibC libc = Os.libc();
        int fd = libc.open(Os.cString(file.toString()), LibC.O_WRONLY | LibC.O_CLOEXEC, 0);
        int errno = Os.errno();
        if (fd >= 0) {
            byte[] text = target.toString().getBytes(StandardCharsets.US_ASCII);
            long written = libc.write(fd, text, text.length);
            errno = written == text.length ? 0 : written < 0 ? Os.errno() : LibC.EIO;
            Os.close(fd);
        }
        if (errno != 0) {
            // EACCES: for root, the kernel's refusal to lower the value without CAP_SYS_RESOURCE; for
            // another uid, the open's first: a non-dumpable process's /proc files are root's.
            String why = Os.errnoName(errno) + (errno != LibC.EACCES ? ""
                    : libc.getuid() != 0 ? ": the agent is not root, and its /proc files are root's (non-dumpable)"
                    : target < started ? ": lowering it needs CAP_SYS_RESOURCE" : "");
            // An agent of another uid is a developer's or a test's (a guest's runs as root): expected, not a warning.
            String line = "cannot set the agent's oom_score_adj from {} to {} ({}): the agent is not protected, and the"
                    + " kernel's OOM killer may take it before the sessions' processes when the memory runs out";
            if (libc.getuid() == 0) {
                log.warn(line, started, target, why);
            } else {
                log.info(line, started, target, why);
            }
            return new OomScoreAdj(started, target, started, why);
        }
        return new OomScoreAdj(started, target, target, null);
    }

    /** The value in {@code file}; null when it cannot be read or holds no number. */
    static Integer read(Path file) {
        OptionalLong value = ProcNumber.read(file);
        return value.isPresent() && value.getAsLong() == (int) value.getAsLong() ? (int) value.getAsLong() : null;
    }

    /**
     * What a spawn's child writes to its /proc/self/oom_score_adj before it drops its privileges
     * (decimal text, the spec's oom_score_adj): the value the agent was started with, when the agent
     * changed its own; null when the child's value is the agent's start value already.
     */
    String childValue() {
        return started != null && now != null && !started.equals(now) ? started.toString() : null;
    }

    /** For the serving line: the agent's value and its sessions', or why it is as it started. */
    public String describe() {
        if (started == null) {
            return this == INHERITED ? "oom_score_adj unknown" : "oom_score_adj unknown (cannot read " + SELF + ")";
        }
        if (target == null) {
            return "oom_score_adj " + started + " (kept, sessions inherit it)";
        }
        if (refusal != null) {
            return "oom_score_adj " + started + " (not set to " + target + ": " + refusal + ")";
        }
        if (started.equals(now)) {
            return "oom_score_adj " + now + " (as started, sessions inherit it)";
        }
        return "oom_score_adj " + now + " (sessions " + started + ")";
    }
}
