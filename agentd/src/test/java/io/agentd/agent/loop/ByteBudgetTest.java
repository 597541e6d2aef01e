package io.agentd.agent.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A budget and its shares: what a share holds counts in its parent, and waits span both. */
class ByteBudgetTest {

    @Test
    void aSharesReservationsAreThePartsToo() {
        ByteBudget agent = new ByteBudget(100);
        ByteBudget one = ByteBudget.shareOf(agent, 40);
        ByteBudget two = ByteBudget.shareOf(agent, 80);
        assertEquals(30, one.reserveUpTo(30));
        assertEquals(10, one.reserveUpTo(25), "the share's limit, not the parent's room");
        assertEquals(60, two.reserveUpTo(80), "the parent's room, not the share's limit");
        assertEquals(100, agent.reserved());
        assertFalse(two.tryReserve(1));
        one.release(40);
        assertEquals(60, agent.reserved());
        assertTrue(two.tryReserve(20));
        assertFalse(two.tryReserve(1), "the share is spent though its parent has room");
    }

    @Test
    void aShareThatHoldsNothingTakesOneReservationPastItsLimitIfItsParentHasRoom() {
        ByteBudget agent = new ByteBudget(100);
        ByteBudget small = ByteBudget.shareOf(agent, 10);
        assertTrue(small.tryReserve(30), "nothing held: one chunk larger than the share");
        assertFalse(small.tryReserve(1), "then nothing more");
        small.release(30);
        assertFalse(ByteBudget.shareOf(agent, 10).tryReserve(101), "never past the parent");
        ByteBudget top = new ByteBudget(10);
        assertFalse(top.tryReserve(11), "a budget at the top has no such exception");
    }

    @Test
    void aWaiterIsToldByAReleaseAtEitherLevelAndCancelledAtBoth() {
        ByteBudget agent = new ByteBudget(10);
        ByteBudget share = ByteBudget.shareOf(agent, 10);
        ByteBudget otherShare = ByteBudget.shareOf(agent, 10);
        List<String> told = new ArrayList<>();
        Runnable waiter = () -> told.add("waiter");
        assertEquals(6, share.reserveUpTo(6));
        assertEquals(4, otherShare.reserveUpTo(10));
        share.await(waiter);
        assertEquals(1, agent.waiting());
        otherShare.release(4); // room above: the waiter, on the agent's list too, is told
        assertEquals(List.of("waiter"), told);
        share.cancel(waiter);
        assertEquals(0, agent.waiting());
        assertEquals(0, share.waiting());
        told.clear();
        Runnable[] holder = new Runnable[1];
        holder[0] = () -> {
            told.add("holder");
            share.cancel(holder[0]); // as the fs shares do when told
        };
        share.await(holder[0]);
        share.release(6); // room in its own share and above: told by the share, and no more
        assertEquals(List.of("holder"), told);
        assertEquals(0, agent.waiting(), "nothing left on either list");
        assertEquals(0, share.waiting());
    }

    @Test
    void everyLevelsCountMovesBeforeAnyoneIsTold() {
        ByteBudget agent = new ByteBudget(10);
        ByteBudget share = ByteBudget.shareOf(agent, 10);
        assertEquals(10, share.reserveUpTo(10));
        List<Long> seen = new ArrayList<>();
        share.await(() -> seen.add(agent.reserved()));
        share.release(10);
        assertEquals(0L, seen.get(0), "a waiter told by the share finds the room in the parent too");
    }
}
