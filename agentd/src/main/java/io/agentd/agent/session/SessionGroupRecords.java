package io.agentd.agent.session;

import io.agentd.agent.FirstLinesLog;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live sessions' process groups, kept in the state directory so that they outlive the agent: an
 * agent that dies of a fatal error cannot kill its sessions, and the guest's init starts a new one,
 * which kills them ({@link #killLeftovers}) before it serves anyone.
 *
 * <p>Each agent appends to one journal of its own, {@code groups.PID.START_TICKS.BOOT_ID} (the
 * agent's pid and start time, and the kernel's boot id): a line {@code + pgid start_ticks} when a session's group starts, one
 * {@code - pgid} once the group has no member left ({@link #pruneGone}, from the reaper's sweep,
 * lingering groups included; the removals of one sweep in one write). Each line is one write(2) of
 * a few bytes to an fd held open, so a process killed in it still writes it whole; no file is
 * created or removed per session (on a disk file system that cost more than the rest of a session's
 * bookkeeping). The journal is rewritten with the live groups alone (a new file renamed over it)
 * once it has grown {@link #COMPACT_BYTES} past its last rewrite; when the rewrite fails the
 * removals are appended instead, and the next try waits for as much growth again. The start also
 * reads the one-file-per-group records ({@code PGID}: {@link SessionGroupRecord#format}) that
 * earlier agents kept.
 *
 * <p>A journal of another boot (a state directory that outlives the kernel) is removed unread: its
 * groups ended with that boot, and a pid and start time of then may well be a process of now (a
 * microVM boots the same way each time, so its agent gets the same pid and start ticks). A journal
 * whose name has no boot id (agents before it had one) is read as before.
 *
 * <p>A write cut short (ENOSPC) leaves a torn line, a line without its newline. The next write then
 * starts with {@link #TORN_MARK}, which ends the torn line and follows it with an empty line, so that
 * the torn line is read as torn and never glued to the next record: a line followed by an empty line,
 * or with no newline at the end of the file, is skipped. (Read as a line, a torn {@code - 12} of
 * {@code - 123} would remove group 12; glued, {@code + 10+ 200 8} loses group 200.)
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
    private static final String JOURNAL_PREFIX = "groups.";
    /** The journal is rewritten with only the live groups once it has grown this much since its last rewrite. */
    static final long COMPACT_BYTES = 256 * 1024;
    /** Starts the write after a torn line: its newline, then an empty line that says the line before is torn. */
    private static final String TORN_MARK = "\n\n";
    /**
     * The longest journal the start reads; a longer one is removed unread. An agent's journal holds
     * its live groups (a line of at most 34 bytes each) and less than {@link #COMPACT_BYTES} of lines
     * written since its last rewrite (more only while rewrites keep failing): 4 MiB is over 100,000
     * live groups, more processes than a guest runs, and what reading it costs stays small beside the
     * agent's heap.
     */
    static final int JOURNAL_MAX_BYTES = 4 * 1024 * 1024;
    /** The longest one-file-per-group record the start reads: {@link SessionGroupRecord#format} is under 80 bytes. */
    static final int RECORD_MAX_BYTES = 4096;
    /** A journal line is at most "+ " and two numbers; a longer one is not the agent's and is skipped unsplit. */
    private static final int JOURNAL_LINE_MAX_CHARS = 64;

    /** How long the start waits for killed processes to be gone, so that ready means they are. */
    private static final long KILL_WAIT_MILLIS = 2000;

    /**
     * The owner an agent running as root gives its records directory, (uid_t) -2: no process runs as
     * it (do not run sessions as uid 4294967294), so with mode 0700 no process without
     * CAP_DAC_OVERRIDE can enter it, and none without CAP_CHOWN can make a directory its.
     */
    static final int ROOT_AGENTS_RECORDS_UID = -2;
    /** The records' directory in the state directory. */
    public static final String RECORDS_DIR = "session-groups";

    /** {@code /proc/sys/kernel/random/boot_id}: a new one at every boot of the kernel. */
    private static final Path BOOT_ID_FILE = Path.of("/proc/sys/kernel/random/boot_id");

    /** The records directory, as its descriptor's /proc/self/fd path. */
    private final Path dir;
    /** This boot's id, or "" when it cannot be read (journals are then named and read as before boot ids). */
    private final String bootId;
    private final long agentPid;
    private final long agentStartTicks;
    /** Groups recorded by this agent, and their leaders' start times. */
    private final Map<Integer, Long> recorded = new HashMap<>();
    private boolean writeFailureLogged;
    /** This agent's journal, open for appending once the first group started; -1 before (or after a failure). */
    private int journalFd = -1;
    /** The journal's length, as written by this agent. */
    private long journalBytes;
    /** The journal is rewritten once it is this long. */
    private long compactAt = COMPACT_BYTES;
    /** The journal ends in a torn line not yet followed by {@link #TORN_MARK}. */
    private boolean tornLine;

    private SessionGroupRecords(Path dir, String bootId, long agentPid, long agentStartTicks) {
        this.dir = dir;
        this.bootId = bootId;
        this.agentPid = agentPid;
        this.agentStartTicks = agentStartTicks;
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
     * longer running, unless its pid now belongs to another process (a different start time: a pid
     * cannot be reused while it is still some process's group id, so the group is gone), then the
     * record is removed. Records of an agent still running are left to it.
     *
     * @return how many groups were sent SIGKILL
     */
    public int killLeftovers() {
        if (dir == null) {
            return 0;
        }
        int records = 0;
        int earlierBoots = 0;
        Set<Integer> killed = new HashSet<>();
        int reused = 0;
        FirstLinesLog unreadable = new FirstLinesLog(log);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir,
                f -> isRecordName(f) || isJournalName(f))) {
            for (Path file : files) {
                if (isJournalName(file) && ofAnotherBoot(file)) {
                    earlierBoots++;
                    deleteQuietly(file);
                    continue;
                }
                List<SessionGroupRecord> left;
                try {
                    left = isJournalName(file) ? journalLeftovers(file) : List.of(SessionGroupRecord.parse(
                            new String(StateFiles.readBounded(file, RECORD_MAX_BYTES), StandardCharsets.US_ASCII)));
                } catch (IOException | IllegalArgumentException e) {
                    // one line a file: the reason is short, the name at most 255 bytes
                    unreadable.warn("unreadable session group record {} removed: {}", file, e.getMessage());
                    deleteQuietly(file);
                    continue;
                }
                if (left == null || (!left.isEmpty() && left.get(0).ownerAlive())) {
                    continue; // an agent that still runs keeps its own records
                }
                for (SessionGroupRecord r : left) {
                    records++;
                    long now = SessionGroupRecord.startTicksOf(r.pgid());
                    if (now != SessionGroupRecord.NO_PROCESS && now != r.startTicks()) {
                        reused++;
                    } else if (Os.killGroup(r.pgid(), LibC.SIGKILL) == 0) {
                        killed.add(r.pgid());
                    }
                }
                deleteQuietly(file);
            }
        } catch (IOException | DirectoryIteratorException e) {
            log.warn("cannot read the session group records in {}: {}", dir, e.getMessage());
        }
        unreadable.end("unreadable session group records removed");
        if (earlierBoots > 0) {
            log.info("removed {} session group journal(s) of an earlier boot unread: their groups ended with it",
                    earlierBoots);
        }
        boolean allGone = killed.isEmpty() || ProcessGroups.awaitGone(killed, KILL_WAIT_MILLIS);
        if (records > 0) {
            log.warn("killed {} process group(s) left running by an agent that died ({} record(s); {} group(s) "
                    + "already gone, {} pid(s) reused by another process){}", killed.size(), records,
                    records - killed.size() - reused, reused,
                    allGone ? "" : "; some killed processes still exist after " + KILL_WAIT_MILLIS + " ms");
        }
        return killed.size();
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
        new SessionGroupRecord(pgid, startTicks, agentPid, agentStartTicks); // checks the fields
        int err = append("+ " + pgid + " " + startTicks + "\n");
        if (err == 0) {
            recorded.put(pgid, startTicks);
        } else if (!writeFailureLogged) {
            writeFailureLogged = true;
            log.warn("cannot record process group {} in {} ({}); later failures are not logged", pgid, dir,
                    Os.errnoName(err));
        }
    }

    private Path journal() {
        return dir.resolve(JOURNAL_PREFIX + agentPid + "." + agentStartTicks + (bootId.isEmpty() ? "" : "." + bootId));
    }

    /** True when the journal's name gives a boot id and it is not this boot's (known). */
    private boolean ofAnotherBoot(Path journal) {
        String[] owner = journal.getFileName().toString().substring(JOURNAL_PREFIX.length()).split("\\.");
        return owner.length == 3 && !bootId.isEmpty() && !owner[2].equals(bootId);
    }

    /** Appends {@code lines} to the journal in one write, opening it first if needed; returns 0 or an errno. */
    private int append(String lines) {
        if (journalFd < 0) {
            int fd = createFresh(journal());
            if (fd < 0) {
                return -fd;
            }
            journalFd = fd;
        }
        boolean marked = tornLine;
        byte[] bytes = ((marked ? TORN_MARK : "") + lines).getBytes(StandardCharsets.US_ASCII);
        long n = Os.libc().write(journalFd, bytes, bytes.length);
        int err = n < 0 ? Os.errno() : 0;
        if (n > 0) {
            journalBytes += n;
            // torn if cut inside a line, or still torn if cut inside the mark (the next mark adds one more empty line)
            tornLine = marked && n < TORN_MARK.length() || bytes[(int) n - 1] != '\n';
        }
        return n == bytes.length ? 0 : (n < 0 ? err : LibC.EIO);
    }

    /**
     * A new file at {@code file} for this agent's records, open for appending, created by this call
     * (O_EXCL; whatever was at the name, which no agent made, is removed first, never taken over);
     * the agent then appends through this descriptor alone. Returns the fd, or minus the errno.
     */
    private int createFresh(Path file) {
        byte[] path = Os.cString(file.toString());
        int flags = LibC.O_WRONLY | LibC.O_CREAT | LibC.O_EXCL | LibC.O_APPEND | LibC.O_NOFOLLOW | LibC.O_CLOEXEC;
        int fd = Os.libc().open(path, flags, 0644);
        if (fd < 0 && Os.errno() == LibC.EEXIST) {
            deleteQuietly(file); // an agent's file names are its own: this one is not
            fd = Os.libc().open(path, flags, 0644);
        }
        return fd < 0 ? -Os.errno() : fd;
    }

    /**
     * The groups a journal holds as live, each as a record of the journal's agent, or null when that
     * agent still runs and the journal holds none (the name's boot id, if any, is not looked at). Torn lines (a write cut short: the last line when it
     * has no newline, and a line followed by an empty one) are skipped, and so is a line that makes
     * no record. A journal longer than {@link #JOURNAL_MAX_BYTES}, or not a regular file, is an
     * IOException, unread.
     */
    static List<SessionGroupRecord> journalLeftovers(Path file) throws IOException {
        String[] owner = file.getFileName().toString().substring(JOURNAL_PREFIX.length()).split("\\.");
        long ownerPid;
        long ownerTicks;
        try {
            ownerPid = Long.parseLong(owner[0]);
            ownerTicks = Long.parseLong(owner[1]);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a journal name: " + file.getFileName());
        }
        String text = new String(StateFiles.readBounded(file, JOURNAL_MAX_BYTES), StandardCharsets.US_ASCII);
        Map<Integer, Long> live = new LinkedHashMap<>();
        for (int start = 0, end; start < text.length(); start = end + 1) {
            end = text.indexOf('\n', start);
            if (end < 0) {
                break; // no newline: the last write was cut short, or the file ends in a torn line
            }
            if (end + 1 < text.length() && text.charAt(end + 1) == '\n') {
                continue; // followed by TORN_MARK's empty line: torn
            }
            if (end - start > JOURNAL_LINE_MAX_CHARS) {
                continue; // not a line the agent writes; not split into pieces (a hostile file's may be many)
            }
            String[] f = text.substring(start, end).split(" ");
            try {
                if (f.length == 3 && f[0].equals("+")) {
                    int pgid = Integer.parseInt(f[1]);
                    long startTicks = Long.parseLong(f[2]);
                    if (pgid > 1 && startTicks >= 0) { // anything else is no record; the others still are
                        live.put(pgid, startTicks);
                    }
                } else if (f.length == 2 && f[0].equals("-")) {
                    live.remove(Integer.parseInt(f[1]));
                }
            } catch (NumberFormatException notTheAgents) {
                // not a line the agent writes
            }
        }
        List<SessionGroupRecord> records = new ArrayList<>();
        if (live.isEmpty()) {
            // still tells whether its agent runs: an empty list means nothing to kill, and the file goes
            return SessionGroupRecord.runs(ownerPid, ownerTicks) ? null : records;
        }
        for (Map.Entry<Integer, Long> e : live.entrySet()) {
            records.add(new SessionGroupRecord(e.getKey(), e.getValue(), ownerPid, ownerTicks));
        }
        return records;
    }

    /** Removes the records of groups with no member left (one write for all of them). */
    public void pruneGone() {
        if (recorded.isEmpty()) {
            return;
        }
        StringBuilder gone = null;
        for (Iterator<Integer> it = recorded.keySet().iterator(); it.hasNext(); ) {
            int pgid = it.next();
            if (!Os.groupAlive(pgid)) {
                it.remove();
                (gone == null ? gone = new StringBuilder() : gone).append("- ").append(pgid).append('\n');
            }
        }
        if (gone == null) {
            return;
        }
        if (journalBytes + gone.length() >= compactAt && compact()) {
            return;
        }
        append(gone.toString()); // a line not written leaves a record the next agent finds gone
    }

    /**
     * Rewrites the journal with the live groups alone: a new file, renamed over the old one. False
     * when that failed (the old journal stays, and the next try waits until it has grown
     * {@link #COMPACT_BYTES} more, rather than rewriting it at every sweep).
     */
    private boolean compact() {
        StringBuilder live = new StringBuilder();
        recorded.forEach((pgid, ticks) -> live.append("+ ").append(pgid).append(' ').append(ticks).append('\n'));
        Path journal = journal();
        Path fresh = dir.resolve(".compact-" + journal.getFileName());
        // Written and then appended to through the one descriptor that created it: a file at the
        // journal's name opened again later could be one a session put there meanwhile.
        int fd = createFresh(fresh);
        try {
            if (fd < 0) {
                throw new IOException("cannot create " + fresh + ": " + Os.errnoName(-fd));
            }
            ByteBuffer bytes = ByteBuffer.wrap(live.toString().getBytes(StandardCharsets.US_ASCII));
            while (bytes.hasRemaining()) {
                Os.write(fd, bytes);
            }
            Files.move(fresh, journal, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) { // an OsException too
            log.debug("cannot compact {}: {}", journal, e.getMessage());
            if (fd >= 0) {
                Os.close(fd);
                deleteQuietly(fresh);
            }
            compactAt = journalBytes + COMPACT_BYTES;
            return false;
        }
        if (journalFd >= 0) {
            Os.close(journalFd);
        }
        journalFd = fd;
        journalBytes = live.length();
        compactAt = journalBytes + COMPACT_BYTES;
        tornLine = false; // a new file of whole lines
        return true;
    }

    /** Groups recorded and not yet found gone (tests). */
    int recordedCount() {
        return recorded.size();
    }

    private static boolean isJournalName(Path file) {
        return file.getFileName().toString().startsWith(JOURNAL_PREFIX);
    }

    private static boolean isRecordName(Path file) {
        String name = file.getFileName().toString();
        return !name.isEmpty() && name.chars().allMatch(c -> c >= '0' && c <= '9');
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            log.debug("cannot remove {}: {}", file, e.getMessage());
        }
    }
}
