package io.agentd.agent.session;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.session.cgroup.SessionCgroups;
import io.agentd.agent.session.retain.OutputRetention;
import io.agentd.agent.session.retain.RetentionLimits;
import java.nio.ByteBuffer;

/**
 * The parts every session of the agent shares, one of each for the whole agent (whatever its
 * connection): the defaults, the stdin budget, the bulk pipes, the read buffer, the reaper, the
 * cgroups, the group records, the output retention and the directory of session numbers. The
 * setters are the agent's configuration, made before the first session ({@link Sessions}' setters).
 * Loop thread only.
 */
final class SharedParts {
    private static final int READ_BYTES = 64 * 1024;

    private final Loop loop;
    private final SessionDefaults defaults;
    private final StdinBudget stdinBudget;
    private final BulkPipes bulkPipes;
    private final BulkCoalescing bulkCoalescing = new BulkCoalescing();
    private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(READ_BYTES);
    private final Reaper reaper;
    private SessionGroupRecords groupRecords = SessionGroupRecords.none();
    private SessionCgroups cgroups = new SessionCgroups(null);
    private OutputRetention retention = RetentionLimits.DEFAULTS.newRetention();
    private SessionDirectory directory;

    SharedParts(Loop loop, SessionDefaults defaults, SessionIo io) {
        this.loop = loop;
        this.defaults = defaults;
        this.stdinBudget = new StdinBudget(defaults.stdinTotalLimit());
        this.bulkPipes = new BulkPipes(io);
        this.reaper = new Reaper(loop, io, () -> {
            groupRecords.pruneGone();
            cgroups.sweep();
        });
        this.directory = new SessionDirectory(loop, RetentionLimits.DEFAULTS.retainExitedMillis());
    }

    SessionDefaults defaults() {
        return defaults;
    }

    /** The stdin bytes queued or granted over all sessions. */
    StdinBudget stdinBudget() {
        return stdinBudget;
    }

    /** Enlarged output pipes over all sessions. */
    BulkPipes bulkPipes() {
        return bulkPipes;
    }

    /** When a bulk writer's pipe is read too early (one per loop: its waits are loop-wide). */
    BulkCoalescing bulkCoalescing() {
        return bulkCoalescing;
    }

    /** One read buffer (direct) shared by all sessions: they read one at a time on the loop thread. */
    ByteBuffer readBuffer() {
        return readBuffer;
    }

    /** The leaders by pid, the lingering groups, and the sweep that also prunes records and cgroups. */
    Reaper reaper() {
        return reaper;
    }

    /** Where the sessions' process groups are recorded for the next agent, should this one die. */
    SessionGroupRecords groupRecords() {
        return groupRecords;
    }

    void setGroupRecords(SessionGroupRecords groupRecords) {
        this.groupRecords = groupRecords;
    }

    /** The session cgroups (none: sessions stay in the agent's cgroup, and limits are refused). */
    SessionCgroups cgroups() {
        return cgroups;
    }

    void setCgroups(SessionCgroups cgroups) {
        this.cgroups = cgroups;
    }

    /** Output kept for sessions with no host, over all of them. */
    OutputRetention retention() {
        return retention;
    }

    /** Every session by its agent-wide number, and the exits held for an attach. */
    SessionDirectory directory() {
        return directory;
    }

    /** How much output is kept for sessions with no host, and how long exits wait (before any session). */
    void setRetention(RetentionLimits limits) {
        this.retention = limits.newRetention();
        this.directory = new SessionDirectory(loop, limits.retainExitedMillis());
    }
}
