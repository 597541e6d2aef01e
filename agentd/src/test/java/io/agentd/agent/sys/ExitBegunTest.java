package io.agentd.agent.sys;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link ExitBegun} from stat lines as the kernel writes them (fields 3 to 20 shown, the rest cut). */
class ExitBegunTest {
    /** A stat line of {@code name} in {@code state} with {@code flags} and {@code threads}. */
    private static String stat(String name, char state, long flags, int threads) {
        return "4242 (" + name + ") " + state + " 1 4242 4242 0 -1 " + flags + " 120 0 0 0 1 0 0 0 20 0 "
                + threads + " 0 123456 2260992";
    }

    @Test
    void aRunningProcessHasNotBegunItsExit() {
        assertFalse(ExitBegun.fromStat(stat("sh", 'S', 0x400000, 1)));
    }

    @Test
    void aZombieAndAProcessInsideItsExitHave() {
        assertTrue(ExitBegun.fromStat(stat("sh", 'Z', 0x40804c, 1)));
        assertTrue(ExitBegun.fromStat(stat("sh", 'R', 0x400044, 1)), "in the kernel's exit, not a zombie yet");
    }

    @Test
    void aLeaderThreadThatEndedAloneWhileOthersRunIsNotItsProcessesExit() {
        assertFalse(ExitBegun.fromStat(stat("server", 'Z', 0x40804c, 3)));
    }

    @Test
    void theFlagsAreFoundPastACommandNameWithSpacesAndParentheses() {
        assertTrue(ExitBegun.fromStat(stat("a) S 1 2 3 4 5 6 7 (b", 'Z', 0x4, 1)));
        assertFalse(ExitBegun.fromStat(stat("a) Z 1 2 3 4 5 6 4 (b", 'S', 0x0, 1)));
    }

    @Test
    void aProcessThatIsNotThereHasNotBegunItsExit() {
        assertFalse(ExitBegun.of(Integer.MAX_VALUE)); // above pid_max: never a process
    }
}
