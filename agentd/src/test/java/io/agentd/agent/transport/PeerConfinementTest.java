package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** How confined a peer is, against the agent: its marks, parsed from /proc/PID/status, and real processes. */
class PeerConfinementTest {
    private static final long ALL = 0x1ffffffffffL;

    @Test
    void marksAreParsedFromAStatusFile() {
        PeerConfinement.Marks m = PeerConfinement.Marks.parse("Name:\tsh\nNoNewPrivs:\t1\nCapBnd:\t000001fffeffffff\n");
        assertEquals(new PeerConfinement.Marks(true, 0x1fffeffffffL), m);
        assertNull(PeerConfinement.Marks.parse("Name:\tsh\nCapBnd:\t000001ffffffffff\n"), "no NoNewPrivs line");
        assertNull(PeerConfinement.Marks.parse("NoNewPrivs:\t0\nCapBnd:\tzz\n"), "a bounding set that is no number");
    }

    @Test
    void aPeerIsRefusedOnlyWhenItLacksWhatTheAgentHas() {
        PeerConfinement agent = new PeerConfinement(new PeerConfinement.Marks(false, ALL));
        assertNull(agent.refusal(new PeerConfinement.Marks(false, ALL)));
        assertTrue(agent.refusal(new PeerConfinement.Marks(true, ALL)).contains("no_new_privs"));
        assertTrue(agent.refusal(new PeerConfinement.Marks(false, ALL & ~(1L << 21))).contains("0x200000"),
                "restricted: no CAP_SYS_ADMIN");
        assertNotNull(agent.refusal(new PeerConfinement.Marks(true, 0)), "strict");
        PeerConfinement confinedAgent = new PeerConfinement(new PeerConfinement.Marks(true, ALL & ~(1L << 21)));
        assertNull(confinedAgent.refusal(new PeerConfinement.Marks(true, ALL & ~(1L << 21))),
                "an agent that is itself confined serves peers as confined as it");
        assertNull(confinedAgent.refusal(new PeerConfinement.Marks(false, ALL)));
    }

    @Test
    void thisProcessAndAChildUnderNoNewPrivsAsTheyAre() throws Exception {
        PeerConfinement self = PeerConfinement.ofThisProcess();
        assertNotNull(self, "/proc/self/status");
        assertNull(self.refusal((int) ProcessHandle.current().pid(), PeerPidfd.UNAVAILABLE, "self"), "this process against itself");
        Process child = new ProcessBuilder("setpriv", "--no-new-privs", "sleep", "30").start();
        try {
            String why = null;
            for (int i = 0; i < 200 && (why == null || !why.contains("no_new_privs")); i++) {
                why = self.refusal((int) child.pid(), PeerPidfd.UNAVAILABLE, "child"); // until setpriv has set it and exec'd sleep
                Thread.sleep(10);
            }
            assertTrue(why != null && why.contains("no_new_privs"), String.valueOf(why));
        } finally {
            child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        String gone = self.refusal((int) child.pid(), PeerPidfd.UNAVAILABLE, "child");
        assertTrue(gone.contains("gone"), gone);
    }

    @Test
    void aStatusIsAProcessOnlyWhenItsTgidIsThePid() {
        String thread = "Name:\tjava\nTgid:\t100\nPid:\t101\nNoNewPrivs:\t0\nCapBnd:\t000001ffffffffff\n";
        assertTrue(PeerConfinement.isProcess(thread, 100));
        assertFalse(PeerConfinement.isProcess(thread, 101), "thread 101 of process 100");
        assertFalse(PeerConfinement.isProcess(thread, 10), "no prefix match");
        assertFalse(PeerConfinement.isProcess("Name:\tsh\nPid:\t7\n", 7), "no Tgid line");
    }

    /**
     * A thread's id reads as a process: /proc/TID/status is there, with its process's marks. A
     * peer's pid that went to a thread of an unconfined process (this one) is refused as gone.
     */
    @Test
    void aThreadOfAnotherProcessIsNotTakenForThePeer() throws Exception {
        PeerConfinement self = PeerConfinement.ofThisProcess();
        long pid = ProcessHandle.current().pid();
        int tid;
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            tid = tasks.map(t -> Integer.parseInt(t.getFileName().toString())).filter(t -> t != pid).findFirst()
                    .orElseThrow();
        }
        assertTrue(Files.readString(Path.of("/proc/" + tid + "/status")).contains("NoNewPrivs:"), "readable by its tid");
        String why = self.refusal(tid, PeerPidfd.UNAVAILABLE, "thread");
        assertTrue(why != null && why.contains("gone or unreadable"), String.valueOf(why));
    }
}
