package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Credit and budget accounting without a loop or a process. */
class StdinWindowTest {
    private static final long WINDOW = 1000;

    /** A window whose grants are recorded, as the session would send them. */
    private static final class Granted {
        final List<Long> grants = new ArrayList<>();
        long balance;

        void accept(long n) {
            grants.add(n);
            balance += n;
        }
    }

    private static StdinWindow window(StdinBudget budget, Granted granted) {
        return StdinWindow.withCredit(budget, WINDOW, granted::accept);
    }

    @Test
    void noCreditBeforeOpenThenTheWholeWindow() {
        StdinBudget budget = new StdinBudget(10_000);
        Granted g = new Granted();
        StdinWindow w = window(budget, g);
        assertEquals(StdinWindow.Refusal.PAST_CREDIT, w.admit(1), "no credit before started");
        assertTrue(g.grants.isEmpty());
        w.open();
        assertEquals(List.of(WINDOW), g.grants);
        assertEquals(WINDOW, budget.used(), "credit is reserved in the budget when granted");
    }

    @Test
    void aHostThatLeftGivesItsUnusedCreditBackAndGetsNoMoreUntilAnotherAttaches() {
        StdinBudget budget = new StdinBudget(2 * WINDOW);
        Granted g = new Granted();
        StdinWindow w = StdinWindow.forSession(budget, true, WINDOW, 4 * WINDOW, g::accept);
        w.open();
        assertEquals(StdinWindow.Refusal.NONE, w.admit(300)); // queued for a child that reads later
        w.hostLeft();
        assertEquals(300, budget.used(), "the 700 granted and never sent are back; the 300 queued stay");
        w.consumed(300);
        assertEquals(0, budget.used());
        assertEquals(List.of(WINDOW), g.grants, "no grant to a host that is gone");
        StdinWindow other = window(budget, new Granted());
        other.open();
        assertEquals(WINDOW, other.credit(), "a later host's window has room again");
        w.rehost(true); // a host attaches: a fresh window for it
        assertEquals(List.of(WINDOW, WINDOW), g.grants);
    }

    @Test
    void topsUpToTheWindowInOneGrantOnceHalfIsFree() {
        StdinBudget budget = new StdinBudget(10_000);
        Granted g = new Granted();
        StdinWindow w = window(budget, g);
        w.open();
        assertEquals(StdinWindow.Refusal.NONE, w.admit(1000));
        for (int i = 0; i < 4; i++) {
            w.consumed(100); // 600 left queued: above half, no credit
        }
        assertEquals(1, g.grants.size(), "no credit per write: " + g.grants);
        w.consumed(100); // queued 500 = half the window
        assertEquals(List.of(WINDOW, 500L), g.grants);
        assertEquals(WINDOW, w.queued() + w.credit());
        assertEquals(WINDOW, budget.used());
    }

    @Test
    void aHostWithinItsCreditIsNeverRefusedAndQueuedPlusCreditStaysWithinTheWindow() {
        StdinBudget budget = new StdinBudget(WINDOW);
        Granted g = new Granted();
        StdinWindow w = window(budget, g);
        w.open();
        long sent = 0;
        java.util.Random random = new java.util.Random(1);
        for (int i = 0; i < 10_000; i++) {
            if (g.balance > 0 && random.nextBoolean()) {
                long n = 1 + random.nextInt((int) g.balance);
                assertEquals(StdinWindow.Refusal.NONE, w.admit(n));
                g.balance -= n;
                sent += n;
            } else if (w.queued() > 0) {
                w.consumed(1 + random.nextInt((int) w.queued()));
            }
            assertTrue(w.queued() + w.credit() <= WINDOW);
            assertTrue(budget.used() <= budget.limit());
            assertEquals(g.balance, w.credit());
        }
        assertTrue(sent > 100 * WINDOW, "data flowed: " + sent);
        w.close();
        assertEquals(0, budget.used());
    }

    @Test
    void overrunningTheCreditIsRefused() {
        StdinBudget budget = new StdinBudget(10_000);
        StdinWindow w = window(budget, new Granted());
        w.open();
        assertEquals(StdinWindow.Refusal.PAST_CREDIT, w.admit(WINDOW + 1));
        assertEquals(StdinWindow.Refusal.NONE, w.admit(WINDOW));
        assertEquals(StdinWindow.Refusal.PAST_CREDIT, w.admit(1));
    }

    @Test
    void aShortBudgetGrantsWhatThereIsAndServesWaitingWindowsInOrder() {
        StdinBudget budget = new StdinBudget(2500);
        Granted g1 = new Granted();
        Granted g2 = new Granted();
        Granted g3 = new Granted();
        Granted g4 = new Granted();
        StdinWindow w1 = window(budget, g1);
        StdinWindow w2 = window(budget, g2);
        StdinWindow w3 = window(budget, g3);
        StdinWindow w4 = window(budget, g4);
        w1.open();
        w2.open();
        w3.open();
        w4.open();
        assertEquals(List.of(WINDOW), g1.grants);
        assertEquals(List.of(WINDOW), g2.grants);
        assertEquals(List.of(500L), g3.grants, "what there is");
        assertTrue(g4.grants.isEmpty(), "nothing left");
        assertEquals(2, budget.waitingCount());

        w1.admit(WINDOW);
        w1.consumed(700); // 700 back: w3 (first in line) wants 500, w4 gets the other 200
        assertEquals(List.of(500L, 500L), g3.grants);
        assertEquals(List.of(200L), g4.grants);
        assertEquals(budget.limit(), budget.used());
        assertEquals(2, budget.waitingCount(), "w4 still waits, and w1 behind it");

        w2.close(); // its whole window back: w4 first, then w1
        assertEquals(List.of(200L, 800L), g4.grants);
        assertEquals(WINDOW, w4.credit());
        assertEquals(List.of(WINDOW, 200L), g1.grants, "w1 (300 queued) is topped up with what is left");
        assertEquals(1, budget.waitingCount(), "w1 waits for the rest");
        assertEquals(budget.limit(), budget.used());
    }

    @Test
    void closingGivesEverythingBackAndLeavesTheLine() {
        StdinBudget budget = new StdinBudget(1500);
        Granted g1 = new Granted();
        Granted g2 = new Granted();
        StdinWindow w1 = window(budget, g1);
        StdinWindow w2 = window(budget, g2);
        w1.open();
        w2.open();
        w1.admit(600);
        w2.admit(100);
        w2.close();
        assertEquals(0, budget.waitingCount());
        assertEquals(WINDOW, budget.used(), "w1's queued bytes and credit");
        w1.close();
        assertEquals(0, budget.used());
        w1.consumed(600); // the queue's late news after the end changes nothing
        assertEquals(0, budget.used());
        assertEquals(StdinWindow.Refusal.SESSION_FULL, w1.admit(1));
    }

    @Test
    void withoutCreditFramesAreAdmittedWhileTheQueueAndTheBudgetHaveRoom() {
        StdinBudget budget = new StdinBudget(1500);
        StdinWindow a = StdinWindow.withoutCredit(budget, 1000);
        StdinWindow b = StdinWindow.withoutCredit(budget, 1000);
        a.open();
        assertEquals(StdinWindow.Refusal.NONE, a.admit(1000));
        assertEquals(StdinWindow.Refusal.SESSION_FULL, a.admit(1));
        assertEquals(StdinWindow.Refusal.NONE, b.admit(500));
        assertEquals(StdinWindow.Refusal.ALL_FULL, b.admit(1));
        a.consumed(400);
        assertEquals(StdinWindow.Refusal.NONE, b.admit(400));
        a.close();
        b.close();
        assertEquals(0, budget.used());
    }

    @Test
    void creditReservedForOthersIsNotTakenByHostsWithoutCredit() {
        StdinBudget budget = new StdinBudget(1500);
        StdinWindow windowed = window(budget, new Granted());
        windowed.open();
        StdinWindow old = StdinWindow.withoutCredit(budget, 1000);
        assertEquals(StdinWindow.Refusal.ALL_FULL, old.admit(501));
        assertEquals(StdinWindow.Refusal.NONE, windowed.admit(WINDOW), "the credit holder always has room");
    }

    private static final long MIB = 1 << 20;

    /** A session's window as the agent makes it: 1 MiB configured, 16 MiB queue limit. */
    private static StdinWindow session(StdinBudget budget, Granted granted) {
        return StdinWindow.forSession(budget, true, MIB, 16 * MIB, granted::accept);
    }

    @Test
    void aSessionStartsAtTheFirstWindowAndDoublesEachTimeItsChildReadsAWindowsWorth() {
        StdinBudget budget = new StdinBudget(64 * MIB);
        Granted g = new Granted();
        StdinWindow w = session(budget, g);
        w.open();
        assertEquals(List.of(StdinWindow.FIRST_WINDOW), g.grants);
        long read = 0;
        List<Long> windows = new ArrayList<>(List.of(w.current()));
        while (w.current() < MIB) {
            assertEquals(StdinWindow.Refusal.NONE, w.admit(g.balance)); // the host sends all it may
            g.balance = 0;
            long sent = w.queued();
            w.consumed(sent / 2); // the child reads half of it, then the rest
            w.consumed(w.queued());
            read += sent;
            assertTrue(w.queued() + w.credit() <= w.current() && w.current() <= MIB);
            if (w.current() != windows.get(windows.size() - 1)) {
                windows.add(w.current());
            }
            assertTrue(read < 4 * MIB, "the window reached 1 MiB within the first MiBs read: " + windows);
        }
        assertEquals(List.of(64L << 10, 128L << 10, 256L << 10, 512L << 10, MIB), windows);
        assertEquals(MIB, w.queued() + w.credit(), "topped up to the whole window once grown");
        w.rehost(true); // another host: its child's pace is unknown, so the window starts small again
        assertEquals(StdinWindow.FIRST_WINDOW, w.current());
        w.close();
        assertEquals(0, budget.used());
    }

    /**
     * Idle sessions (shells waiting for a key) hold only their first window: with the full 1 MiB
     * each, the 65th of them found the default 64 MiB budget used up and got no credit at all.
     */
    @Test
    void aThousandIdleSessionsAllGetCreditFromTheDefaultBudget() {
        StdinBudget budget = new StdinBudget(64 * MIB);
        List<Granted> granted = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            Granted g = new Granted();
            session(budget, g).open();
            granted.add(g);
        }
        for (int i = 0; i < granted.size(); i++) {
            assertEquals(StdinWindow.FIRST_WINDOW, granted.get(i).balance, "session " + i);
        }
        assertEquals(0, budget.waitingCount());
    }
}
