package io.agentd.agent.sys;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** SigtermDisposition on status text and on real processes: a plain sleep, and shells that trap or ignore it. */
class SigtermDispositionTest {
    private static final String PLAIN = "Name:\tsleep\nSigQ:\t0/63457\nSigPnd:\t0000000000000000\n"
            + "ShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
            + "SigCgt:\t0000000000000000\n";

    @Test
    void aProcessThatLeavesSigtermAloneDoesNotTakeIt() {
        assertFalse(SigtermDisposition.fromStatus(PLAIN));
    }

    @Test
    void caughtIgnoredOrBlockedIsTakenItself() {
        assertTrue(SigtermDisposition.fromStatus(PLAIN.replace("SigCgt:\t0000000000000000", "SigCgt:\t0000000000004000")));
        assertTrue(SigtermDisposition.fromStatus(PLAIN.replace("SigIgn:\t0000000000000000", "SigIgn:\t0000000000004000")));
        assertTrue(SigtermDisposition.fromStatus(PLAIN.replace("SigBlk:\t0000000000000000", "SigBlk:\t0000000000004000")));
        assertFalse(SigtermDisposition.fromStatus(PLAIN.replace("SigCgt:\t0000000000000000", "SigCgt:\t0000000000000002")),
                "SIGINT's handler is not SIGTERM's");
    }

    @Test
    void aStatusWithoutTheMasksIsTakenForAHandler() {
        assertTrue(SigtermDisposition.fromStatus("Name:\tx\n"));
    }

    @Test
    void realProcesses() throws Exception {
        assertFalse(takenBy("sleep 30"), "sleep leaves SIGTERM alone");
        assertTrue(takenBy("trap 'exit 3' TERM; sleep 30 & wait"), "a shell with a trap catches it");
        assertTrue(takenBy("trap '' TERM; sleep 30 & wait"), "and one that ignores it");
    }

    private static boolean takenBy(String script) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", script.startsWith("sleep") ? "exec " + script : script).start();
        try {
            Thread.sleep(300); // the shell has set its trap and waits
            return SigtermDisposition.takenItselfBy((int) p.pid());
        } finally {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
