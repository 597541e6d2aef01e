package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
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
