package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The one journal per agent: appended per group, replayed by the next agent, compacted when long. */
class SessionGroupJournalTest {

    @Test
    void aJournalReplaysToTheGroupsStillLiveAndATornLastLineIsIgnored() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "journal-");
        Path journal = dir.resolve("groups." + Integer.MAX_VALUE + ".5"); // its agent does not run
        Files.writeString(journal, "+ 100 7\n+ 200 8\n- 100\n+ 300 9\n- 3");
        List<SessionGroupRecord> left = SessionGroupRecords.journalLeftovers(journal);
        assertEquals(List.of(new SessionGroupRecord(200, 8, Integer.MAX_VALUE, 5),
                new SessionGroupRecord(300, 9, Integer.MAX_VALUE, 5)), left);
        assertFalse(left.get(0).ownerAlive());
    }

    @Test
    void groupsAreAppendedPrunedAndCompactedAndTheNextAgentFindsTheLiveOne() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "journal-");
        SessionGroupRecords records = SessionGroupRecords.open(dir);
        assertTrue(records.enabled());
        Process live = new ProcessBuilder("setsid", "sleep", "60").start();
        try {
            awaitOwnGroup(live.pid());
            records.started((int) live.pid());
            long line = ("+ " + live.pid() + " 1234567\n").length();
            for (long written = 0; written < SessionGroupRecords.COMPACT_BYTES; written += line) {
                records.started((int) live.pid()); // the journal grows (a record again for the same group)
            }
            Process gone = new ProcessBuilder("true").start();
            records.started((int) gone.pid());
            gone.waitFor(10, TimeUnit.SECONDS);
            records.pruneGone(); // a group gone, and the journal long: rewritten with the live group alone
            assertEquals(1, records.recordedCount());
            Path journal;
            try (var files = Files.list(dir)) {
                journal = files.filter(f -> f.getFileName().toString().startsWith("groups.")).findFirst().orElseThrow();
            }
            assertTrue(Files.size(journal) < SessionGroupRecords.COMPACT_BYTES, "compacted: " + Files.size(journal));
            List<SessionGroupRecord> left = SessionGroupRecords.journalLeftovers(journal);
            assertEquals(1, left.size());
            assertEquals(live.pid(), left.get(0).pgid());
            assertTrue(left.get(0).ownerAlive());
        } finally {
            live.destroyForcibly();
        }
    }

    @Test
    void aJournalOrARecordOfGigabytesIsRemovedUnread() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "journal-");
        // 3 GiB each, sparse: read whole, either is an OutOfMemoryError (fatal to the agent, every start)
        Path journal = dir.resolve("groups." + Integer.MAX_VALUE + ".5");
        Path record = dir.resolve("4242");
        for (Path huge : List.of(journal, record)) {
            try (RandomAccessFile f = new RandomAccessFile(huge.toFile(), "rw")) {
                f.setLength(3L << 30);
            }
        }
        assertEquals(0, SessionGroupRecords.open(dir).killLeftovers());
        assertFalse(Files.exists(journal), "refused and removed");
        assertFalse(Files.exists(record), "refused and removed");
    }

    @Test
    void theJournalBoundIsExact() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "journal-");
        Path justOver = dir.resolve("groups." + Integer.MAX_VALUE + ".6");
        byte[] lines = "+ 100 7\n".repeat(SessionGroupRecords.JOURNAL_MAX_BYTES / 8 + 1).getBytes(StandardCharsets.US_ASCII);
        Files.write(justOver, lines);
        IOException refused = assertThrows(IOException.class, () -> SessionGroupRecords.journalLeftovers(justOver));
        assertTrue(refused.getMessage().contains("more than the " + SessionGroupRecords.JOURNAL_MAX_BYTES),
                refused.getMessage());
        Files.write(justOver, Arrays.copyOf(lines, SessionGroupRecords.JOURNAL_MAX_BYTES));
        assertEquals(List.of(new SessionGroupRecord(100, 7, Integer.MAX_VALUE, 6)),
                SessionGroupRecords.journalLeftovers(justOver), "at the bound it is read");
    }

    @Test
    void aFifoWhereARecordOrJournalIsIsRemovedWithoutBlockingTheStart() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "journal-");
        Path journalFifo = dir.resolve("groups." + Integer.MAX_VALUE + ".5");
        Path recordFifo = dir.resolve("4242");
        for (Path fifo : List.of(journalFifo, recordFifo)) {
            assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        }
        SessionGroupRecords records = SessionGroupRecords.open(dir);
        // read as before, the open of a FIFO with no writer waits for one for good
        assertEquals(0, assertTimeoutPreemptively(Duration.ofSeconds(10), records::killLeftovers));
        assertFalse(Files.exists(journalFifo, LinkOption.NOFOLLOW_LINKS), "refused and removed");
        assertFalse(Files.exists(recordFifo, LinkOption.NOFOLLOW_LINKS), "refused and removed");
    }

    private static void awaitOwnGroup(long pid) throws Exception {
        for (int i = 0; i < 200; i++) {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            if (Long.parseLong(f[2]) == pid) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("setsid did not make its own group");
    }
}
