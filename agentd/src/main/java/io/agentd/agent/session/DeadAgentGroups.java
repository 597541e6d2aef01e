package io.agentd.agent.session;

import io.agentd.agent.FirstLinesLog;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process groups a dead agent left, found in the records directory and killed once at start
 * ({@link SessionGroupRecords#killLeftovers}): each agent's journal ({@link SessionGroupJournal}) and
 * the one-file-per-group records ({@code PGID}: {@link SessionGroupRecord#format}) that earlier
 * agents kept. The groups of an agent still running are left to it.
 *
 * <p>A journal of another boot (a state directory that outlives the kernel) is removed unread: its
 * groups ended with that boot, and a pid and start time of then may well be a process of now (a
 * microVM boots the same way each time, so its agent gets the same pid and start ticks). A journal
 * whose name has no boot id (agents before it had one) is read as before.
 */
final class DeadAgentGroups {
    // Its lines are the records' (and tests listen for them there).
    private static final Logger log = LoggerFactory.getLogger(SessionGroupRecords.class);
    /**
     * The longest journal the start reads; a longer one is removed unread. An agent's journal holds
     * its live groups (a line of at most 34 bytes each) and less than {@link SessionGroupJournal#COMPACT_BYTES}
     * of lines written since its last rewrite (more only while rewrites keep failing): 4 MiB is over 100,000
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

    private DeadAgentGroups() {
    }

    /**
     * At start, before serving: SIGKILL to the group of every record in {@code dir} left by an agent
     * that is no longer running, unless its pid now belongs to another process (a different start
     * time: a pid cannot be reused while it is still some process's group id, so the group is gone),
     * then the record is removed. Records of an agent still running are left to it; journals of a
     * boot other than {@code bootId} (when known) are removed unread.
     *
     * @return how many groups were sent SIGKILL
     */
    static int kill(Path dir, String bootId) {
        int records = 0;
        int earlierBoots = 0;
        Set<Integer> killed = new HashSet<>();
        int reused = 0;
        FirstLinesLog unreadable = new FirstLinesLog(log);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir,
                f -> isRecordName(f) || SessionGroupJournal.isJournalName(f))) {
            for (Path file : files) {
                boolean journal = SessionGroupJournal.isJournalName(file);
                if (journal && ofAnotherBoot(file, bootId)) {
                    earlierBoots++;
                    StateFiles.deleteQuietly(file);
                    continue;
                }
                List<SessionGroupRecord> left;
                try {
                    left = journal ? journalLeftovers(file) : List.of(SessionGroupRecord.parse(
                            new String(StateFiles.readBounded(file, RECORD_MAX_BYTES), StandardCharsets.US_ASCII)));
                } catch (IOException | IllegalArgumentException e) {
                    // one line a file: the reason is short, the name at most 255 bytes
                    unreadable.warn("unreadable session group record {} removed: {}", file, e.getMessage());
                    StateFiles.deleteQuietly(file);
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
                StateFiles.deleteQuietly(file);
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

    /** True when the journal's name gives a boot id and it is not {@code bootId} (known). */
    private static boolean ofAnotherBoot(Path journal, String bootId) {
        String[] owner = SessionGroupJournal.nameFields(journal);
        return owner.length == 3 && !bootId.isEmpty() && !owner[2].equals(bootId);
    }

    /**
     * The groups a journal holds as live, each as a record of the journal's agent, or null when that
     * agent still runs and the journal holds none (the name's boot id, if any, is not looked at).
     * Torn lines (a write cut short: the last line when it has no newline, and a line followed by an
     * empty one) are skipped, and so is a line that makes no record. A journal longer than {@link #JOURNAL_MAX_BYTES}, or not a regular file, is an
     * IOException, unread.
     */
    static List<SessionGroupRecord> journalLeftovers(Path file) throws IOException {
        String[] owner = SessionGroupJournal.nameFields(file);
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

    private static boolean isRecordName(Path file) {
        String name = file.getFileName().toString();
        return !name.isEmpty() && name.chars().allMatch(c -> c >= '0' && c <= '9');
    }
}
