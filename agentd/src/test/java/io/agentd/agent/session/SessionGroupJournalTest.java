package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.agentd.agent.FirstLinesLog;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The one journal per agent: appended per group, replayed by the next agent, compacted when long. */
class SessionGroupJournalTest {
    /**
     * Records are read from the records directory alone, and only when it is the records owner's with
     * mode 0700 (for an agent as root: uid 4294967294's, which a root session without capabilities
     * can neither enter nor make). Records planted in the state directory itself are not read; a
     * records directory that is not the owner's (one such a session made in the place of the
     * agent's) is set aside unread and made again. Before, the next agent killed any group a file in
     * the state directory named.
     */
    @Test
    void recordsOutsideAnOwnersRecordsDirectoryAreNeverActedOn() throws Exception {
        Assumptions.assumeTrue(Os.libc().getuid() == 0, "needs root: only root's agent gives its records directory away");
        Path dir = newDir("journal-");
        Process live = new ProcessBuilder("setsid", "sleep", "60").start();
        try {
            awaitOwnGroup(live.pid());
            String lines = liveLine(live);
            String journalName = "groups." + Integer.MAX_VALUE + ".5." + SessionGroupRecords.bootId();
            Files.writeString(dir.resolve(journalName), lines);
            Files.writeString(dir.resolve(Long.toString(live.pid())), new SessionGroupRecord((int) live.pid(),
                    SessionGroupRecord.startTicksOf(live.pid()), Integer.MAX_VALUE, 5).format());
            Path impostor = Files.createDirectory(dir.resolve(SessionGroupRecords.RECORDS_DIR));
            Files.writeString(impostor.resolve(journalName), lines);

            assertEquals(0, SessionGroupRecords.open(dir).killLeftovers());
            assertFalse(live.waitFor(500, TimeUnit.MILLISECONDS), "a group named by records root wrote lives");

            // What a session that got into a new records directory before it was given away leaves,
            // renamed into place: the owner's, 0700, but never sealed (it was not empty).
            Path records = dir.resolve(SessionGroupRecords.RECORDS_DIR);
            Files.move(records, dir.resolve("kept-aside"));
            Path brokenInto = Files.createDirectory(records);
            Files.writeString(brokenInto.resolve(journalName), lines);
            Files.setAttribute(brokenInto, "unix:uid", SessionGroupRecords.recordsOwner(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(brokenInto, "unix:mode", 0700, LinkOption.NOFOLLOW_LINKS);
            assertEquals(0, SessionGroupRecords.open(dir).killLeftovers());
            assertFalse(live.waitFor(500, TimeUnit.MILLISECONDS), "a group named in an unsealed directory lives");
            try (var aside = Files.list(dir)) {
                assertEquals(2, aside.filter(f -> f.getFileName().toString()
                        .startsWith(SessionGroupRecords.RECORDS_DIR + ".untrusted-")).count(), "both impostors set aside");
            }
            assertEquals(SessionGroupRecords.recordsOwner(), (Integer) Files.getAttribute(records, "unix:uid", LinkOption.NOFOLLOW_LINKS));
            assertEquals(RecordsDirectory.SEALED, (Integer) Files.getAttribute(records, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777);

            Path agents = Files.writeString(records.resolve(journalName), lines); // as an agent wrote it
            assertEquals(1, SessionGroupRecords.open(dir).killLeftovers(), "the same journal in the records directory");
            assertTrue(live.waitFor(10, TimeUnit.SECONDS), "killed");
            assertFalse(Files.exists(agents));
        } finally {
            live.destroyForcibly();
        }
    }

    /**
     * A link under a journal's name is removed, not followed (no process without CAP_DAC_OVERRIDE can
     * put one in the records directory; this is the second wall).
     */
    @Test
    void aLinkUnderAJournalsNameIsRemovedNotFollowed() throws Exception {
        Path dir = newDir("journal-");
        Path elsewhere = newDir("journal-elsewhere-");
        Process live = new ProcessBuilder("setsid", "sleep", "60").start();
        try {
            awaitOwnGroup(live.pid());
            Path target = Files.writeString(elsewhere.resolve("groups." + Integer.MAX_VALUE + ".5"),
                    liveLine(live));
            Path link = Files.createSymbolicLink(records(dir).resolve("groups." + Integer.MAX_VALUE + ".7." + SessionGroupRecords.bootId()),
                    target.toAbsolutePath());
            assertEquals(0, SessionGroupRecords.open(dir).killLeftovers());
            assertFalse(Files.exists(link, LinkOption.NOFOLLOW_LINKS), "the link removed");
            assertTrue(Files.exists(target), "its target left alone");
            assertFalse(live.waitFor(500, TimeUnit.MILLISECONDS), "the group it named lives");
        } finally {
            live.destroyForcibly();
        }
    }

    /**
     * A file at the name of the agent's next journal, held open for writing by whoever made it, is
     * not taken over: the agent removes it and creates its own, so what is written to the old file
     * afterwards goes where no agent reads (the records directory keeps sessions out; this is the
     * second wall).
     */
    @Test
    void aFilePlantedAtTheJournalsNameIsNotTakenOver() throws Exception {
        Path dir = newDir("journal-");
        Process live = new ProcessBuilder("setsid", "sleep", "60").start();
        Process ours = new ProcessBuilder("setsid", "sleep", "60").start();
        try {
            awaitOwnGroup(live.pid());
            awaitOwnGroup(ours.pid());
            Path journal = ownJournal(dir);
            try (var planted = Files.newOutputStream(journal)) {
                SessionGroupRecords records = SessionGroupRecords.open(dir);
                records.started((int) ours.pid());
                planted.write((liveLine(live))
                        .getBytes(StandardCharsets.US_ASCII));
            }
            assertEquals(List.of(ours.pid()), pgids(DeadAgentGroups.journalLeftovers(journal)),
                    "the journal holds the agent's line alone");
        } finally {
            live.destroyForcibly();
            ours.destroyForcibly();
        }
    }

    /**
     * A state directory whose own name is a link (a root session, which owns /run, can put one in
     * the place of /run/agentd and kill the agent) is refused with one warning, and the agent keeps
     * no records: nothing is made, opened or renamed where the link points. Before, the agent set
     * aside what was at session-groups there and made its records directory there.
     */
    @Test
    void aStateDirectoryThatIsALinkIsRefusedAndNothingIsDoneWhereItPoints() throws Exception {
        Path elsewhere = newDir("journal-elsewhere-");
        Path planted = Files.createDirectory(elsewhere.resolve(SessionGroupRecords.RECORDS_DIR));
        Path link = Files.createSymbolicLink(newDir("journal-").resolve("state"), elsewhere.toAbsolutePath());
        List<String> said = new ArrayList<>();
        SessionGroupRecords records = logging(said, () -> SessionGroupRecords.open(link));
        assertFalse(records.enabled(), "no records kept through a link: " + said);
        assertEquals(1, said.size(), said.toString());
        assertTrue(said.get(0).contains("cannot be used") && said.get(0).contains("symbolic link"), said.toString());
        try (var left = Files.list(elsewhere)) {
            assertEquals(List.of(planted), left.toList(), "nothing made or set aside where the link points");
        }
        assertEquals(0755, (Integer) Files.getAttribute(planted, "unix:mode") & 07777, "left as it was");
    }

    /**
     * A state directory that is another user's (a strict session can rename any directory on /run
     * into its place), or that others may write in, is refused: no records, one line, nothing made
     * or set aside in it. Before, the agent made its records directory in that user's directory and
     * renamed what was at session-groups there.
     */
    @Test
    void aStateDirectoryOfAnotherUserOrOpenToOthersIsRefusedAndLeftAsItWas() throws Exception {
        Assumptions.assumeTrue(Os.libc().getuid() == 0, "needs root: to give a directory to another user");
        Path users = Files.createDirectory(newDir("journal-").resolve("alice"));
        Path planted = Files.createDirectory(users.resolve(SessionGroupRecords.RECORDS_DIR));
        Files.setAttribute(users, "unix:uid", 1000);
        Path openToAll = Files.createDirectory(newDir("journal-").resolve("shared"));
        Files.setPosixFilePermissions(openToAll, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        for (Path stateDir : List.of(users, openToAll)) {
            List<String> said = new ArrayList<>();
            SessionGroupRecords records = logging(said, () -> SessionGroupRecords.open(stateDir));
            assertFalse(records.enabled(), stateDir + ": " + said);
            assertEquals(1, said.size(), said.toString());
            assertTrue(said.get(0).contains("cannot be used") && said.get(0).contains("must be its own"), said.toString());
        }
        try (var left = Files.list(users)) {
            assertEquals(List.of(planted), left.toList(), "nothing made or set aside in another user's directory");
        }
        try (var left = Files.list(openToAll)) {
            assertEquals(List.of(), left.toList(), "nothing made in a directory open to all");
        }
    }

    /**
     * Once the state directory is opened, its path is not used again: swapped for a link to another
     * directory meanwhile, the records directory is still made in the directory opened, and nothing
     * is made or set aside where the link points.
     */
    @Test
    void aStateDirectorySwappedForALinkAfterItWasOpenedIsNotFollowed() throws Exception {
        Path dir = newDir("journal-");
        Path elsewhere = newDir("journal-elsewhere-");
        Path planted = Files.createDirectory(elsewhere.resolve(SessionGroupRecords.RECORDS_DIR));
        int stateFd = Os.libc().open(Os.cString(dir.toString()), LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        assertTrue(stateFd >= 0, "open " + dir);
        int recordsFd = -1;
        try {
            Path opened = Files.move(dir, dir.resolveSibling(dir.getFileName() + "-opened"));
            Files.createSymbolicLink(dir, elsewhere.toAbsolutePath());

            recordsFd = RecordsDirectory.openIn(stateFd, dir.resolve(SessionGroupRecords.RECORDS_DIR),
                    SessionGroupRecords.recordsOwner());
            Path records = opened.resolve(SessionGroupRecords.RECORDS_DIR);
            assertEquals(records.toRealPath(), Path.of("/proc/self/fd/" + recordsFd).toRealPath());
            assertEquals(RecordsDirectory.SEALED, (Integer) Files.getAttribute(records, "unix:mode") & 07777);
            try (var left = Files.list(elsewhere)) {
                assertEquals(List.of(planted), left.toList(), "nothing made or set aside where the link points");
            }
        } finally {
            Os.close(recordsFd);
            Os.close(stateFd);
        }
    }

    /** {@code action}'s result; what it logged on the records' logger is added to {@code said}, a line each. */
    private static <T> T logging(List<String> said, java.util.concurrent.Callable<T> action) throws Exception {
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        Logger logger = (Logger) LoggerFactory.getLogger(SessionGroupRecords.class);
        logger.addAppender(lines);
        try {
            return action.call();
        } finally {
            logger.detachAppender(lines);
            lines.list.forEach(line -> said.add(line.getFormattedMessage()));
        }
    }

    /** A new directory under target/ named from {@code prefix}. */
    private static Path newDir(String prefix) throws IOException {
        return Files.createTempDirectory(Files.createDirectories(Path.of("target")), prefix);
    }

    /** The journal line an agent writes for {@code leader}'s group: "+ pgid start_ticks". */
    private static String liveLine(Process leader) {
        return "+ " + leader.pid() + " " + SessionGroupRecord.startTicksOf(leader.pid()) + "\n";
    }

    /**
     * The records directory in {@code dir}, made as an agent makes it (this test process opens the
     * records once for that; it writes none of its own there unless a test has it start a group).
     */
    static Path records(Path dir) {
        SessionGroupRecords.open(dir);
        return dir.resolve(SessionGroupRecords.RECORDS_DIR);
    }

    @Test
    void aJournalReplaysToTheGroupsStillLiveAndATornLastLineIsIgnored() throws Exception {
        Path dir = newDir("journal-");
        Path journal = records(dir).resolve("groups." + Integer.MAX_VALUE + ".5"); // its agent does not run
        Files.writeString(journal, "+ 100 7\n+ 200 8\n- 100\n+ 300 9\n- 3");
        List<SessionGroupRecord> left = DeadAgentGroups.journalLeftovers(journal);
        assertEquals(List.of(new SessionGroupRecord(200, 8, Integer.MAX_VALUE, 5),
                new SessionGroupRecord(300, 9, Integer.MAX_VALUE, 5)), left);
        assertFalse(left.get(0).ownerAlive());
    }

    @Test
    void groupsAreAppendedPrunedAndCompactedAndTheNextAgentFindsTheLiveOne() throws Exception {
        Path dir = newDir("journal-");
        SessionGroupRecords records = SessionGroupRecords.open(dir);
        assertTrue(records.enabled());
        Process live = new ProcessBuilder("setsid", "sleep", "60").start();
        try {
            awaitOwnGroup(live.pid());
            growPastCompaction(records, ownJournal(dir), live.pid());
            recordAnEndedGroup(records);
            records.pruneGone(); // a group gone, and the journal long: rewritten with the live group alone
            assertEquals(1, records.recordedCount());
            Path journal;
            try (var files = Files.list(records(dir))) {
                journal = files.filter(f -> f.getFileName().toString().startsWith("groups.")).findFirst().orElseThrow();
            }
            assertTrue(Files.size(journal) < SessionGroupJournal.COMPACT_BYTES, "compacted: " + Files.size(journal));
            List<SessionGroupRecord> left = DeadAgentGroups.journalLeftovers(journal);
            assertEquals(1, left.size());
            assertEquals(live.pid(), left.get(0).pgid());
            assertTrue(left.get(0).ownerAlive());
        } finally {
            live.destroyForcibly();
        }
    }

    @Test
    void aJournalOfAnotherBootIsRemovedUnreadAndItsGroupsAreNotKilled() throws Exception {
        String thisBoot = SessionGroupRecords.bootId();
        assertEquals(36, thisBoot.length(), "this kernel gives a boot id: " + thisBoot);
        String otherBoot = (thisBoot.charAt(0) == '0' ? "1" : "0") + thisBoot.substring(1);
        Path dir = newDir("journal-");
        // a live group of this boot, recorded by an agent that is not running: in a journal of another
        // boot it is a pid that only happens to match, and must live; in one of this boot it is killed
        Process live = new ProcessBuilder("setsid", "sleep", "60").start();
        try {
            awaitOwnGroup(live.pid());
            String lines = liveLine(live);
            Path earlier = records(dir).resolve("groups." + Integer.MAX_VALUE + ".5." + otherBoot);
            Files.writeString(earlier, lines);
            assertEquals(0, SessionGroupRecords.open(dir).killLeftovers());
            assertFalse(Files.exists(earlier), "removed");
            assertTrue(live.isAlive(), "a group of this boot is not killed for a journal of another");

            Path current = records(dir).resolve("groups." + Integer.MAX_VALUE + ".5." + thisBoot);
            Files.writeString(current, lines);
            assertEquals(1, SessionGroupRecords.open(dir).killLeftovers());
            assertTrue(live.waitFor(10, TimeUnit.SECONDS), "killed for a journal of this boot");
            assertFalse(Files.exists(current));
        } finally {
            live.destroyForcibly();
        }
    }

    /** An agent killed and not yet reaped by its parent is a zombie with its pid and start time: dead. */
    @Test
    void theGroupsOfAZombieAgentAreKilled() throws Exception {
        Path dir = newDir("journal-");
        Process live = new ProcessBuilder("setsid", "sleep", "60").start();
        try (Zombie agent = new Zombie()) {
            awaitOwnGroup(live.pid());
            long agentTicks = SessionGroupRecord.startTicksOf(agent.pid);
            Path journal = records(dir).resolve("groups." + agent.pid + "." + agentTicks + "." + SessionGroupRecords.bootId());
            Files.writeString(journal, liveLine(live));
            assertEquals(1, SessionGroupRecords.open(dir).killLeftovers());
            assertTrue(live.waitFor(10, TimeUnit.SECONDS), "the dead agent's group is killed");
            assertFalse(Files.exists(journal));
        } finally {
            live.destroyForcibly();
        }
    }

    @Test
    void anAgentNamesItsJournalWithTheBootId() throws Exception {
        Path dir = newDir("journal-");
        SessionGroupRecords records = SessionGroupRecords.open(dir);
        Process p = new ProcessBuilder("setsid", "sleep", "60").start();
        try {
            awaitOwnGroup(p.pid());
            records.started((int) p.pid());
            assertTrue(Files.exists(ownJournal(dir)), "named groups.PID.START_TICKS.BOOT_ID");
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void aJournalOrARecordOfGigabytesIsRemovedUnread() throws Exception {
        Path dir = newDir("journal-");
        // 3 GiB each, sparse: read whole, either is an OutOfMemoryError (fatal to the agent, every start)
        Path journal = records(dir).resolve("groups." + Integer.MAX_VALUE + ".5");
        Path record = records(dir).resolve("4242");
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
        Path dir = newDir("journal-");
        Path justOver = records(dir).resolve("groups." + Integer.MAX_VALUE + ".6");
        byte[] lines = "+ 100 7\n".repeat(DeadAgentGroups.JOURNAL_MAX_BYTES / 8 + 1).getBytes(StandardCharsets.US_ASCII);
        Files.write(justOver, lines);
        IOException refused = assertThrows(IOException.class, () -> DeadAgentGroups.journalLeftovers(justOver));
        assertTrue(refused.getMessage().contains("more than the " + DeadAgentGroups.JOURNAL_MAX_BYTES),
                refused.getMessage());
        Files.write(justOver, Arrays.copyOf(lines, DeadAgentGroups.JOURNAL_MAX_BYTES));
        assertEquals(List.of(new SessionGroupRecord(100, 7, Integer.MAX_VALUE, 6)),
                DeadAgentGroups.journalLeftovers(justOver), "at the bound it is read");
    }

    @Test
    void aFifoWhereARecordOrJournalIsIsRemovedWithoutBlockingTheStart() throws Exception {
        Path dir = newDir("journal-");
        Path journalFifo = records(dir).resolve("groups." + Integer.MAX_VALUE + ".5");
        Path recordFifo = records(dir).resolve("4242");
        for (Path fifo : List.of(journalFifo, recordFifo)) {
            assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        }
        SessionGroupRecords records = SessionGroupRecords.open(dir);
        // read as before, the open of a FIFO with no writer waits for one for good
        assertEquals(0, assertTimeoutPreemptively(Duration.ofSeconds(10), records::killLeftovers));
        assertFalse(Files.exists(journalFifo, LinkOption.NOFOLLOW_LINKS), "refused and removed");
        assertFalse(Files.exists(recordFifo, LinkOption.NOFOLLOW_LINKS), "refused and removed");
    }

    @Test
    void aLineCutShortIsSkippedWhereverItIs() throws Exception {
        Path dir = newDir("journal-");
        Path journal = records(dir).resolve("groups." + Integer.MAX_VALUE + ".5");
        // "- 12" is "- 123" cut short, then ended by the next write's mark (a newline and an empty line);
        // "- 3" at the end has no newline. Read as lines, each would remove a group still live.
        Files.writeString(journal, "+ 12 5\n+ 123 6\n- 12\n\n+ 300 9\n- 3");
        assertEquals(List.of(new SessionGroupRecord(12, 5, Integer.MAX_VALUE, 5),
                new SessionGroupRecord(123, 6, Integer.MAX_VALUE, 5), new SessionGroupRecord(300, 9, Integer.MAX_VALUE, 5)),
                DeadAgentGroups.journalLeftovers(journal));
    }

    @Test
    void aLineThatMakesNoRecordIsSkippedNotTheWholeJournal() throws Exception {
        Path dir = newDir("journal-");
        Path journal = records(dir).resolve("groups." + Integer.MAX_VALUE + ".5");
        Files.writeString(journal, "+ 100 7\n+ 1 5\n+ -4 5\n+ 200 -8\n+ 300 9\n");
        assertEquals(List.of(new SessionGroupRecord(100, 7, Integer.MAX_VALUE, 5),
                new SessionGroupRecord(300, 9, Integer.MAX_VALUE, 5)), DeadAgentGroups.journalLeftovers(journal));
    }

    /** A session as root that filled the state directory with junk records costs the start's log a few lines. */
    @Test
    void aThousandUnreadableRecordsAreRemovedAndLogTheFirstFewAndACount() throws Exception {
        Path dir = newDir("journal-");
        for (int i = 0; i < 1000; i++) {
            Files.writeString(records(dir).resolve(String.valueOf(1_000_000 + i)), "not a record");
        }
        SessionGroupRecords records = SessionGroupRecords.open(dir);
        List<String> said = new ArrayList<>();
        assertEquals(0, (int) logging(said, records::killLeftovers));
        assertEquals(FirstLinesLog.FIRST + 1, said.size(), said.subList(0, Math.min(12, said.size())).toString());
        assertTrue(said.get(0).startsWith("unreadable session group record "), said.toString());
        assertEquals("990 more unreadable session group records removed not logged (1000 in all)",
                said.get(FirstLinesLog.FIRST));
        try (var left = Files.list(records(dir))) {
            assertEquals(List.of(), left.filter(f -> !f.getFileName().toString().startsWith("groups.")).toList(),
                    "every unreadable record removed");
        }
    }

    @Test
    void whenTheRewriteFailsTheRemovalsAreAppendedAndItIsNotRetriedAtEverySweep() throws Exception {
        Path dir = newDir("journal-");
        SessionGroupRecords records = SessionGroupRecords.open(dir);
        Path journal = ownJournal(dir);
        // The rewrite's new file cannot be made: a directory (not empty, so not removed) is in its place.
        Path inTheWay = Files.createDirectory(records(dir).resolve(".compact-" + journal.getFileName()));
        Files.writeString(inTheWay.resolve("x"), "");
        Process live = new ProcessBuilder("setsid", "sleep", "60").start();
        try {
            awaitOwnGroup(live.pid());
            growPastCompaction(records, journal, live.pid());
            recordAnEndedGroup(records);
            records.pruneGone(); // the journal is long: a rewrite is tried, and fails
            assertEquals(List.of(live.pid()), pgids(DeadAgentGroups.journalLeftovers(journal)),
                    "the ended group's removal is in the journal");
            long failedAt = Files.size(journal);
            assertTrue(failedAt >= SessionGroupJournal.COMPACT_BYTES, "not rewritten: " + failedAt);

            Files.delete(inTheWay.resolve("x"));
            Files.delete(inTheWay);
            recordAnEndedGroup(records);
            records.pruneGone(); // a rewrite would work now, but the journal has not grown enough since the failure
            assertTrue(Files.size(journal) > failedAt, "appended, not rewritten: " + Files.size(journal));
            assertEquals(List.of(live.pid()), pgids(DeadAgentGroups.journalLeftovers(journal)));
        } finally {
            live.destroyForcibly();
        }
    }

    @Test
    void aWriteCutShortByAFullDiskDoesNotSwallowTheNextGroup() throws Exception {
        Path dir = newDir("journal-full-");
        Assumptions.assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=8k,mode=0755", "tmpfs", dir.toString()) == 0,
                "needs root to mount a tmpfs");
        Process first = new ProcessBuilder("setsid", "sleep", "60").start();
        Process second = new ProcessBuilder("setsid", "sleep", "60").start();
        try {
            awaitOwnGroup(first.pid());
            awaitOwnGroup(second.pid());
            SessionGroupRecords records = SessionGroupRecords.open(dir);
            Path journal = ownJournal(dir);
            // 8 KiB is two pages: one for a filler, one for the journal. It holds a line of 5 bytes
            // besides the first group's lines, so that the page is full in the middle of one of them
            // (4091, a prime, is no multiple of a line's length).
            Files.write(dir.resolve("filler"), new byte[4096]);
            records.started((int) first.pid()); // the agent creates its journal
            Files.writeString(journal, "- 99\n", StandardOpenOption.APPEND);
            for (int i = 0; i < 4096 / 8; i++) {
                records.started((int) first.pid()); // the same group again: the journal grows to the full page
            }
            assertEquals(4096, Files.size(journal), "the page is full");
            assertTrue(Files.readString(journal).charAt(4095) != '\n', "the last line is torn");

            Files.delete(dir.resolve("filler")); // room again
            records.started((int) second.pid());

            assertEquals(List.of(first.pid(), second.pid()), pgids(DeadAgentGroups.journalLeftovers(journal)),
                    "the group recorded after the torn line is read");
        } finally {
            first.destroyForcibly();
            second.destroyForcibly();
            run("umount", "-l", dir.toString()); // lazily: the records hold the journal open
        }
    }

    private static int run(String... command) throws Exception {
        return new ProcessBuilder(command).redirectErrorStream(true).start().waitFor();
    }

    /** This test JVM's journal in {@code dir}: the agent's pid and start time, and the boot id. */
    private static Path ownJournal(Path dir) {
        long pid = ProcessHandle.current().pid();
        return records(dir).resolve("groups." + pid + "." + SessionGroupRecord.startTicksOf(pid) + "." + SessionGroupRecords.bootId());
    }

    /**
     * Appends lines for {@code pgid} (a record again for the same group) until {@code journal} is as
     * long as a rewrite waits for. Its length is read, not reckoned: a line holds the group's start
     * time, as many digits as the machine's uptime in clock ticks has.
     */
    private static void growPastCompaction(SessionGroupRecords records, Path journal, long pgid) throws IOException {
        records.started((int) pgid);
        while (Files.size(journal) < SessionGroupJournal.COMPACT_BYTES) {
            for (int i = 0; i < 1000; i++) {
                records.started((int) pgid);
            }
        }
    }

    /** Records a group of its own that then ends (its one process killed and reaped), for pruneGone to find gone. */
    private static void recordAnEndedGroup(SessionGroupRecords records) throws Exception {
        Process p = new ProcessBuilder("setsid", "sleep", "60").start();
        awaitOwnGroup(p.pid());
        records.started((int) p.pid());
        p.destroyForcibly();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
    }

    private static List<Long> pgids(List<SessionGroupRecord> records) {
        return records.stream().map(r -> (long) r.pgid()).toList();
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
