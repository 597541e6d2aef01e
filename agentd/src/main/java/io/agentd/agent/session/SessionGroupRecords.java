package io.agentd.agent.session;

import io.agentd.agent.spawn.UserDb;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live sessions' process groups, kept in the state directory so that they outlive the agent: an
 * agent that dies of a fatal error cannot kill its sessions, and the guest's init starts a new one,
 * which kills them ({@link #killLeftovers}, {@link DeadAgentGroups}) before it serves anyone. Each
 * agent appends them to one journal of its own ({@link SessionGroupJournal}); the start also reads
 * the one-file-per-group records ({@code PGID}: {@link SessionGroupRecord#format}) that earlier
 * agents kept.
 *
 * <p>A record is a request to SIGKILL a process group, so the records live in a directory of
 * their own in the state directory, {@value #RECORDS_DIR}, which only the records owner
 * ({@link #recordsOwner}) can enter and which the agent uses only through a descriptor
 * ({@link RecordsDirectory}, which reaches it through a descriptor of the state directory too): a
 * root session of the strict profile owns what root owns, /run/agentd included, and a record it
 * planted (or an agent's it renamed) would have the next agent kill a group it could not signal
 * itself (another user's).
 *
 * <p>When the directory cannot be created or written the agent says so once and keeps no records.
 * Loop thread only (and the start-up before the loop runs).
 */
public final class SessionGroupRecords {
    private static final Logger log = LoggerFactory.getLogger(SessionGroupRecords.class);

    /**
     * The owner an agent running as root gives its records directory, (uid_t) -2: no process runs as
     * it (a request for it is refused, UserDb), so with mode 0700 no process without
     * CAP_DAC_OVERRIDE can enter it, and none without CAP_CHOWN can make a directory its.
     */
    static final int ROOT_AGENTS_RECORDS_UID = UserDb.RECORDS_OWNER_UID;
    /** The records' directory in the state directory. */
    public static final String RECORDS_DIR = "session-groups";

    /** {@code /proc/sys/kernel/random/boot_id}: a new one at every boot of the kernel. */
    private static final Path BOOT_ID_FILE = Path.of("/proc/sys/kernel/random/boot_id");

    /** The records directory, as its descriptor's /proc/self/fd path. */
    private final Path dir;
    /** This boot's id, or "" when it cannot be read (journals are then named and read as before boot ids). */
    private final String bootId;
    /** This agent's journal of the groups it recorded. */
    private final SessionGroupJournal journal;
    private boolean writeFailureLogged;

    private SessionGroupRecords(Path dir, String bootId, long agentPid, long agentStartTicks) {
        this.dir = dir;
        this.bootId = bootId;
        this.journal = new SessionGroupJournal(dir, bootId, agentPid, agentStartTicks);
    }

    /** Records that keep nothing (no state directory). */
    public static SessionGroupRecords none() {
        return new SessionGroupRecords(null, "", 0, 0);
    }

    /**
     * The owner of the records directory of an agent of this uid: {@link #ROOT_AGENTS_RECORDS_UID}
     * for root, whose every process (a capability-less strict session too) owns what root owns; the
     * agent's own uid otherwise, as whoever else runs as that uid is the agent's equal already.
     */
    public static int recordsOwner() {
        int uid = Os.libc().getuid();
        return uid == 0 ? ROOT_AGENTS_RECORDS_UID : uid;
    }

    /**
     * The records in {@code stateDir} (created, mode 0755, if missing; refused if its own name is a
     * symbolic link), in its {@value #RECORDS_DIR}, for this agent process; when that cannot be had,
     * one warning and records that keep nothing.
     */
    public static SessionGroupRecords open(Path stateDir) {
        long pid = ProcessHandle.current().pid();
        long startTicks = SessionGroupRecord.startTicksOf(pid);
        int owner = recordsOwner();
        Path dir;
        try {
            // Held open for the agent's life: every record is read and written through it.
            dir = Path.of("/proc/self/fd/" + RecordsDirectory.open(stateDir, RECORDS_DIR, owner));
        } catch (IOException | UnsupportedOperationException e) {
            log.warn("state directory {} cannot be used ({}): the process groups of sessions are not recorded, "
                    + "and if this agent dies, the next one cannot kill what it left running", stateDir, e.toString());
            return none();
        }
        if (startTicks == SessionGroupRecord.NO_PROCESS) {
            log.warn("cannot read this agent's start time: the process groups of sessions are not recorded");
            return none();
        }
        return new SessionGroupRecords(dir, bootId(), pid, startTicks);
    }

    /** This boot's id as the kernel gives it (36 characters, hex digits and dashes), or "" when it cannot be read. */
    static String bootId() {
        try {
            String id = Files.readString(BOOT_ID_FILE, StandardCharsets.US_ASCII).strip(); // the kernel's, 37 bytes
            return id.length() == 36 && id.chars().allMatch(c -> c == '-' || Character.digit(c, 16) >= 0) ? id : "";
        } catch (IOException e) {
            return "";
        }
    }

    public boolean enabled() {
        return dir != null;
    }

    /**
     * At start, before serving: SIGKILL to the group of every record left by an agent that is no
     * longer running ({@link DeadAgentGroups#kill}); records of an agent still running are left to it.
     *
     * @return how many groups were sent SIGKILL
     */
    public int killLeftovers() {
        if (dir == null) {
            return 0;
        }
        return DeadAgentGroups.kill(dir, bootId);
    }

    /** A session's process group {@code pgid} started (its leader is this agent's unreaped child). */
    public void started(int pgid) {
        if (dir == null) {
            return;
        }
        long startTicks = SessionGroupRecord.startTicksOf(pgid);
        if (startTicks == SessionGroupRecord.NO_PROCESS) {
            return; // only a leader reaped already, whose group is gone, has no stat to read
        }
        int err = journal.add(pgid, startTicks);
        if (err != 0 && !writeFailureLogged) {
            writeFailureLogged = true;
            log.warn("cannot record process group {} in {} ({}); later failures are not logged", pgid, dir,
                    Os.errnoName(err));
        }
    }

    /** Removes the records of groups with no member left (one write for all of them). */
    public void pruneGone() {
        journal.pruneGone();
    }

    /** Groups recorded and not yet found gone (tests). */
    int recordedCount() {
        return journal.recordedCount();
    }
}
