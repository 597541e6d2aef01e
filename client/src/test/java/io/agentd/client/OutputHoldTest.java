package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** OutputHold as a state machine: which notices a sequence of unread amounts sends, through its seam. */
class OutputHoldTest {
    private final List<String> sent = new ArrayList<>();
    private final AtomicLong unread = new AtomicLong();
    private boolean available = true;
    private boolean broken;

    private final OutputHold.Notices notices = new OutputHold.Notices() {
        @Override
        public boolean available() {
            return available;
        }

        @Override
        public void send(boolean hold) throws IOException {
            if (broken) {
                throw new IOException("connection lost");
            }
            sent.add(hold ? "pause" : "resume");
        }
    };

    private final OutputHold hold = new OutputHold(7, notices, unread::get, 100, 25);

    private void at(long bytes) {
        unread.set(bytes);
        hold.update();
    }

    @Test
    void holdsAtTheMarkAndReleasesOnlyBelowAQuarterOfIt() {
        at(99);
        assertEquals(List.of(), sent);
        at(100);
        assertEquals(List.of("pause"), sent);
        at(5000);
        at(26);
        assertEquals(List.of("pause"), sent, "one notice per crossing, none in between");
        at(25);
        assertEquals(List.of("pause", "resume"), sent);
        at(99);
        at(0);
        assertEquals(List.of("pause", "resume"), sent, "below the mark again: nothing to say");
        at(100);
        assertEquals(List.of("pause", "resume", "pause"), sent);
    }

    @Test
    void anAgentThatCannotHoldIsNeverAsked() {
        available = false;
        at(1000);
        at(0);
        assertEquals(List.of(), sent);
        assertFalse(hold.held());
    }

    @Test
    void aHoldInPlaceIsReleasedEvenAfterTheNoticesStopped() {
        at(100);
        available = false; // a relay refused a later notice: what this one held must still be released
        at(0);
        assertEquals(List.of("pause", "resume"), sent);
    }

    @Test
    void theEndReleasesAHoldAndThenNothingIsSent() {
        at(150);
        hold.end();
        assertEquals(List.of("pause", "resume"), sent);
        at(500);
        hold.end();
        assertEquals(List.of("pause", "resume"), sent);
    }

    @Test
    void anEndWithoutAHoldSendsNothing() {
        at(50);
        hold.end();
        assertEquals(List.of(), sent);
    }

    @Test
    void aNoticeThatCannotBeSentLeavesNothingHeld() {
        broken = true;
        at(100);
        assertFalse(hold.held(), "a connection that is gone holds nothing");
        hold.end();
        assertEquals(List.of(), sent);
    }

    /**
     * The reader queued output (100 unread) and decides; meanwhile the caller reads everything and
     * decides too. Whatever the order, the agent must be left told what the last amount needs:
     * nothing held. (Deciding from an amount read outside the lock sent the reader's pause last, and
     * nobody would ever have released it.)
     */
    @Test
    void aDecisionRacingADrainLeavesNothingHeld() throws Exception {
        CountDownLatch readerInside = new CountDownLatch(1);
        CountDownLatch go = new CountDownLatch(1);
        AtomicBoolean first = new AtomicBoolean(true);
        OutputHold racing = new OutputHold(7, notices, () -> {
            long now = unread.get();
            if (first.getAndSet(false)) {
                readerInside.countDown();
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return now;
        }, 100, 25);
        unread.set(100);
        Thread reader = new Thread(racing::update);
        reader.start();
        readerInside.await();
        Thread caller = new Thread(() -> {
            unread.set(0);
            racing.update();
        });
        caller.start();
        Thread.sleep(100); // the caller's update runs now, or waits for the reader's
        go.countDown();
        reader.join();
        caller.join();
        assertFalse(racing.held(), "sent: " + sent);
        assertEquals(List.of("pause", "resume"), sent);
    }

    @Test
    void theMarksMustLeaveRoomBetweenThem() {
        assertThrows(IllegalArgumentException.class, () -> new OutputHold(1, notices, unread::get, 10, 10));
        new OutputHold(1, notices, unread::get, 1, 0); // the smallest stream: held at 1, released at 0
    }
}
