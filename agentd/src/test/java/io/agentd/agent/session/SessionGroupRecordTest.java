package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SessionGroupRecordTest {

    @Test
    void formatAndParseRoundTrip() {
        SessionGroupRecord r = new SessionGroupRecord(4242, 987654321L, 17, 12345);
        assertEquals("4242 987654321 17 12345\n", r.format());
        assertEquals(r, SessionGroupRecord.parse(r.format()));
    }

    @Test
    void anythingElseIsRefused() {
        for (String bad : new String[] {"", "\n", "4242 1 17", "4242 1 17 5 6", "x 1 17 5", "4242 -1 17 5",
                "1 5 17 5", "0 5 17 5", "4242 5 0 5", "4242 5 17 99999999999999999999", "4242  5 17 5"}) {
            assertThrows(IllegalArgumentException.class, () -> SessionGroupRecord.parse(bad), bad);
        }
    }

    @Test
    void startTimeIsField22EvenWhenTheCommandNameHoldsSpacesAndParentheses() {
        String stat = "4242 (sh -c (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 7654321 "
                + "2428928 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
        assertEquals(7654321L, SessionGroupRecord.startTicksFromStat(stat));
        byte[] bytes = stat.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertEquals(7654321L, SessionGroupRecord.startTicksFromStat(bytes, bytes.length));
        assertThrows(IllegalArgumentException.class, () -> SessionGroupRecord.startTicksFromStat(bytes, 40));
    }

    @Test
    void startTimeOfThisProcessAndOfNone() {
        assertTrue(SessionGroupRecord.startTicksOf(ProcessHandle.current().pid()) >= 0);
        assertEquals(SessionGroupRecord.NO_PROCESS, SessionGroupRecord.startTicksOf(Integer.MAX_VALUE));
    }

    @Test
    void aProcessRunsWithItsOwnStartTimeAndAZombieDoesNot() throws Exception {
        long self = ProcessHandle.current().pid();
        long selfTicks = SessionGroupRecord.startTicksOf(self);
        assertTrue(SessionGroupRecord.runs(self, selfTicks));
        assertFalse(SessionGroupRecord.runs(self, selfTicks + 1), "a reused pid is another process");
        assertFalse(SessionGroupRecord.runs(Integer.MAX_VALUE, 0));
        try (Zombie zombie = new Zombie()) {
            long ticks = SessionGroupRecord.startTicksOf(zombie.pid);
            assertNotEquals(SessionGroupRecord.NO_PROCESS, ticks, "a zombie keeps its /proc entry and start time");
            assertFalse(SessionGroupRecord.runs(zombie.pid, ticks), "a zombie has exited");
        }
    }

    @Test
    void theStateIsField3EvenWhenTheCommandNameHoldsParentheses() {
        for (String state : new String[] {"S", "R", "D", "T", "Z", "X"}) {
            byte[] stat = ("4242 (a) Z (b) " + state + " 1 4242 4242 0").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            assertEquals(state.equals("Z") || state.equals("X"), SessionGroupRecord.exitedFromStat(stat, stat.length), state);
        }
        byte[] cut = "4242 (a)".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertThrows(IllegalArgumentException.class, () -> SessionGroupRecord.exitedFromStat(cut, cut.length));
    }
}
