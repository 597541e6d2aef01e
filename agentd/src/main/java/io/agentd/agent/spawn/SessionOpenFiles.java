package io.agentd.agent.spawn;

import io.agentd.agent.sys.OpenFileLimit;
import io.agentd.agent.sys.OsException;
import io.agentd.protocol.payload.Rlimit;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The open-file limit a session starts with: the one the agent was given, not the one it raised for
 * itself. HotSpot raises its process's soft RLIMIT_NOFILE to the hard limit at start (MaxFDLimit)
 * and every child inherits the raised one: commands ran with the hard limit (524288 on a Debian
 * host) where the shell that started the agent gave 1024, as `ulimit -n` in a session showed, and a
 * program that closes or polls every fd up to its limit paid for all of them. The launcher turns
 * HotSpot's raise off (-XX:-MaxFDLimit); {@link #raiseForAgent} raises the agent's own soft limit
 * instead (its sessions' pipes and PTYs need it), keeping the one it was given, and {@link #applyTo}
 * puts that back in each child whose request sets no "nofile" of its own. An agent started without
 * the launcher's flag finds its soft limit raised already, and its sessions get it, as before; so
 * does one given soft = hard (the guest's init).
 */
public final class SessionOpenFiles {
    private static final Logger log = LoggerFactory.getLogger(SessionOpenFiles.class);

    /** Children inherit the agent's limit (the agent started with soft = hard, or did not raise it). */
    public static final SessionOpenFiles INHERITED = new SessionOpenFiles(null);

    /** The soft limit the agent was given, for its children; null when they inherit the agent's. */
    private final Long givenSoft;

    SessionOpenFiles(Long givenSoft) {
        this.givenSoft = givenSoft;
    }

    /**
     * Raises this process's soft limit to its hard one, and answers what children should get: the
     * soft limit it had. Called once, before the agent opens anything for a session.
     */
    public static SessionOpenFiles raiseForAgent() {
        OpenFileLimit given;
        try {
            given = OpenFileLimit.current();
        } catch (OsException e) {
            log.warn("cannot read the open-file limit ({}): sessions inherit the agent's", e.getMessage());
            return INHERITED;
        }
        OpenFileLimit raised = new OpenFileLimit(given.hard(), given.hard());
        if (!given.softBelow(raised)) {
            return INHERITED;
        }
        try {
            raised.apply();
        } catch (OsException e) {
            log.warn("cannot raise the agent's open-file limit from {} to {} ({}): it serves fewer sessions at once",
                    given, raised, e.getMessage());
            return INHERITED;
        }
        log.debug("open-file limit raised from {} to {} for the agent; sessions start with a soft limit of {}",
                given, raised, Long.toUnsignedString(given.soft()));
        return new SessionOpenFiles(given.soft());
    }

    /**
     * {@code spec} with the given soft limit as a "nofile" rlimit (the hard one the agent has now), unless
     * it sets its own or the agent's soft limit is no higher.
     */
    SpawnSpec applyTo(SpawnSpec spec) {
        if (givenSoft == null || spec.rlimits().stream().anyMatch(r -> r.resource().equals("nofile"))) {
            return spec;
        }
        OpenFileLimit now;
        try {
            now = OpenFileLimit.current();
        } catch (OsException e) {
            return spec; // never seen: prlimit on the calling process reads without a check
        }
        // Below the hard limit the agent has now (lowered since start, prlimit from outside): a child
        // may not raise its hard limit, nor its soft limit past it.
        long soft = Long.compareUnsigned(givenSoft, now.hard()) < 0 ? givenSoft : now.hard();
        if (Long.compareUnsigned(soft, now.soft()) >= 0) {
            return spec;
        }
        List<Rlimit> rlimits = new ArrayList<>(spec.rlimits());
        rlimits.add(new Rlimit("nofile", soft, now.hard()));
        return new SpawnSpec(spec.cmd(), spec.args(), spec.env(), spec.cwd(), spec.user(), spec.tty(), spec.rows(),
                spec.cols(), rlimits, spec.profile());
    }
}
