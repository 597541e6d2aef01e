package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** agentctl's handling of the local terminal, without a terminal: when it goes raw, and stty's bounds. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TerminalHandlingTest {

    private static boolean raw(boolean inForeground, String... argv) throws UsageException {
        List<String> args = new java.util.ArrayList<>(List.of(argv));
        args.add("cmd");
        return ExecCommand.localTerminalGoesRaw(ExecOptions.parse(args), inForeground);
    }

    @Test
    void theTerminalGoesRawOnlyWhenItsKeysAreForwarded() throws Exception {
        assertTrue(raw(true, "-it"));
        assertTrue(raw(true, "-t", "-i"));
        assertFalse(raw(true, "-t"), "-t alone reads no key: ^C must stay a signal to agentctl");
        assertFalse(raw(true, "-i"), "no PTY, nothing to make raw");
        assertFalse(raw(true));
        assertFalse(raw(false, "-it"), "a background job leaves the terminal alone (SIGTTOU)");
    }

    @Test
    void theForegroundGroupIsReadFromProcStat() {
        assertTrue(ProcessGroups.inForeground("4242 (java) S 1 4242 4242 34816 4242 4194560 0 0"));
        assertFalse(ProcessGroups.inForeground("4242 (java) S 1 4242 4242 34816 4100 4194560 0 0"),
                "tpgid is another group: we are in the background");
        assertTrue(ProcessGroups.inForeground("4242 (java) S 1 4242 4242 0 -1 4194560 0 0"),
                "no controlling terminal: nothing can stop us");
        assertFalse(ProcessGroups.inForeground("77 (a (b) c) S 1 77 70 34816 70 0"),
                "a command name with spaces and parentheses");
        ProcessGroups.inForeground(); // this JVM's own line parses
    }

    @Test
    void aHelperThatNeverEndsIsKilledAtTheTimeout() {
        long t0 = System.nanoTime();
        assertNull(TimedCommand.output(List.of("sleep", "60"), Duration.ofMillis(300)));
        long tookMs = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(tookMs < 3000, "returned after " + tookMs + " ms");
    }

    @Test
    void aHelperStoppedLikeOneThatGotSigttouIsKilledAtTheTimeout() throws Exception {
        Duration timeout = Duration.ofMillis(300);
        long t0 = System.nanoTime();
        assertNull(TimedCommand.output(List.of("sh", "-c", "echo started; kill -STOP $$"), timeout));
        long tookMs = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(tookMs < 3000, "returned after " + tookMs + " ms");
    }

    @Test
    void aHelperWhoseChildKeepsItsOutputOpenDoesNotHoldUpTheAnswer() {
        long t0 = System.nanoTime();
        assertEquals("24 80\n", TimedCommand.output(List.of("sh", "-c", "sleep 30 & echo 24 80"),
                Duration.ofSeconds(5)));
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(4), "did not wait for the background child");
    }

    /**
     * agentctl killed while stty runs (a test's timeout, a closed terminal's SIGKILL): the helper's
     * output used to go through a file in java.io.tmpdir that only a finally block removed.
     */
    @Test
    void anAgentctlKilledWhileItsHelperRunsLeavesNothingInTheTempDirectory(@TempDir Path tmp) throws Exception {
        Path javaCommand = Path.of(System.getProperty("java.home"), "bin", "java");
        Process jvm = new ProcessBuilder(javaCommand.toString(), "-Djava.io.tmpdir=" + tmp,
                "-cp", System.getProperty("java.class.path"), KilledDuringHelper.class.getName())
                .redirectErrorStream(true).start();
        String said = new String(jvm.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(jvm.waitFor(20, TimeUnit.SECONDS));
        assertEquals(137, jvm.exitValue(), "the helper killed its JVM: " + said);
        try (var left = java.nio.file.Files.list(tmp)) {
            assertEquals(List.of(), left.map(p -> p.getFileName().toString()).toList());
        }
    }

    /** A JVM whose stty-like helper answers, then kills it with SIGKILL before the answer is read. */
    static final class KilledDuringHelper {
        public static void main(String[] args) {
            TimedCommand.output(List.of("sh", "-c", "echo 24 80; kill -KILL $PPID; sleep 5"), Duration.ofSeconds(10));
            System.out.println("not killed");
        }
    }

    @Test
    void aFailingHelperGivesNothing() {
        assertNull(TimedCommand.output(List.of("sh", "-c", "echo partial; exit 1"), Duration.ofSeconds(5)));
        assertNull(TimedCommand.output(List.of("/nonexistent/stty"), Duration.ofSeconds(5)));
    }

    @Test
    void aCommandThatSucceededWithoutAllItsInputExits123AndAFailureKeepsItsStatus() {
        assertEquals(0, ExitStatuses.exitStatus(0, false));
        assertEquals(123, ExitStatuses.exitStatus(0, true));
        assertEquals(3, ExitStatuses.exitStatus(3, true));
        assertEquals(141, ExitStatuses.exitStatus(141, true));
        assertEquals(7, ExitStatuses.exitStatus(7, false));
    }

    @Test
    void outputThatCouldNotBeWrittenExits1UnlessTheCommandFailedOfItself() {
        assertEquals(1, ExitStatuses.exitStatus(0, false, true));
        assertEquals(1, ExitStatuses.exitStatus(0, true, true));
        assertEquals(1, ExitStatuses.exitStatus(141, false, true), "the SIGPIPE agentctl sent it");
        assertEquals(3, ExitStatuses.exitStatus(3, false, true));
        assertEquals(123, ExitStatuses.exitStatus(0, true, false));
        assertEquals(0, ExitStatuses.exitStatus(0, false, false));
    }
}
