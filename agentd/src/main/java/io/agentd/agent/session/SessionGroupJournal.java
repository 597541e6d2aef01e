package io.agentd.agent.session;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This agent's journal of its sessions' live process groups in the records directory
 * ({@link SessionGroupRecords}), {@code groups.PID.START_TICKS.BOOT_ID} (the agent's pid and start
 * time, and the kernel's boot id): a line {@code + pgid start_ticks} when a session's group starts,
 * one {@code - pgid} once the group has no member left ({@link #pruneGone}, from the reaper's sweep,
 * lingering groups included; the removals of one sweep in one write). Each line is one write(2) of
 * a few bytes to an fd held open, so a process killed in it still writes it whole; no file is
 * created or removed per session (on a disk file system that cost more than the rest of a session's
 * bookkeeping). The journal is rewritten with the live groups alone (a new file renamed over it)
 * once it has grown {@link #COMPACT_BYTES} past its last rewrite; when the rewrite fails the
 * removals are appended instead, and the next try waits for as much growth again.
 *
 * <p>A write cut short (ENOSPC) leaves a torn line, a line without its newline. The next write then
 * starts with {@link #TORN_MARK}, which ends the torn line and follows it with an empty line, so that
 * the torn line is read as torn and never glued to the next record: a line followed by an empty line,
 * or with no newline at the end of the file, is skipped ({@link DeadAgentGroups#journalLeftovers}).
 * (Read as a line, a torn {@code - 12} of {@code - 123} would remove group 12; glued,
 * {@code + 10+ 200 8} loses group 200.)
 *
 * <p>Loop thread only (and the start-up before the loop runs).
 */
final class SessionGroupJournal {
    // Its lines are the records' (and tests listen for them there).
    private static final Logger log = LoggerFactory.getLogger(SessionGroupRecords.class);
    private static final String JOURNAL_PREFIX = "groups.";
    /** The journal is rewritten with only the live groups once it has grown this much since its last rewrite. */
    static final long COMPACT_BYTES = 256 * 1024;
    /** Starts the write after a torn line: its newline, then an empty line that says the line before is torn. */
    private static final String TORN_MARK = "\n\n";

    /** The records directory, as its descriptor's /proc/self/fd path; null when nothing is kept. */
    private final Path dir;
    /** This boot's id, or "" when it cannot be read (journals are then named and read as before boot ids). */
    private final String bootId;
    private final long agentPid;
    private final long agentStartTicks;
    /** Groups recorded by this agent, and their leaders' start times. */
    private final Map<Integer, Long> recorded = new HashMap<>();
    /** This agent's journal, open for appending once the first group started; -1 before (or after a failure). */
    private int journalFd = -1;
    /** The journal's length, as written by this agent. */
    private long journalBytes;
    /** The journal is rewritten once it is this long. */
    private long compactAt = COMPACT_BYTES;
    /** The journal ends in a torn line not yet followed by {@link #TORN_MARK}. */
    private boolean tornLine;

    SessionGroupJournal(Path dir, String bootId, long agentPid, long agentStartTicks) {
        this.dir = dir;
        this.bootId = bootId;
        this.agentPid = agentPid;
        this.agentStartTicks = agentStartTicks;
    }

    /** Whether {@code file}'s name is a journal's (any agent's). */
    static boolean isJournalName(Path file) {
        return file.getFileName().toString().startsWith(JOURNAL_PREFIX);
    }

    /** The fields of a journal's name after its prefix: its agent's pid and start ticks, and the boot id if any. */
    static String[] nameFields(Path journal) {
        return journal.getFileName().toString().substring(JOURNAL_PREFIX.length()).split("\\.");
    }

    /**
     * Group {@code pgid}, whose leader started at {@code startTicks}, recorded as live: 0 once its
     * line is written, else the errno of the write (the group is then not recorded).
     */
    int add(int pgid, long startTicks) {
        new SessionGroupRecord(pgid, startTicks, agentPid, agentStartTicks); // checks the fields
        int err = append("+ " + pgid + " " + startTicks + "\n");
        if (err == 0) {
            recorded.put(pgid, startTicks);
        }
        return err;
    }

    private Path journal() {
        return dir.resolve(JOURNAL_PREFIX + agentPid + "." + agentStartTicks + (bootId.isEmpty() ? "" : "." + bootId));
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
            StateFiles.deleteQuietly(file); // an agent's file names are its own: this one is not
            fd = Os.libc().open(path, flags, 0644);
        }
        return fd < 0 ? -Os.errno() : fd;
    }

    /** Removes the records of groups with no member left (one write for all of them). */
    void pruneGone() {
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
                StateFiles.deleteQuietly(fresh);
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
}
