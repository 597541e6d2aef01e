package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SignalDuringStartTest {
    @AfterEach
    void noInterruptLeftForTheNextTest() {
        Thread.interrupted();
    }

    @Test
    void aSignalDuringTheStartInterruptsTheStarterAndIsReturnedWhenTheStartIsOver() {
        SignalDuringStart signals = new SignalDuringStart(Thread.currentThread()); // the test's own thread starts
        fromAnotherThread(() -> signals.received(15));
        assertTrue(Thread.currentThread().isInterrupted(), "the start's wait is ended");
        assertEquals(15, signals.startOver());
        assertFalse(Thread.currentThread().isInterrupted(), "the interrupt does not reach the loop");
    }

    @Test
    void theFirstSignalIsTheOneReturned() {
        SignalDuringStart signals = new SignalDuringStart(Thread.currentThread()); // the test's own thread starts
        fromAnotherThread(() -> signals.received(2));
        fromAnotherThread(() -> signals.received(15));
        assertEquals(2, signals.startOver());
    }

    @Test
    void aSignalAfterTheStartIsLeftToTheLoop() {
        SignalDuringStart signals = new SignalDuringStart(Thread.currentThread()); // the test's own thread starts
        assertEquals(0, signals.startOver());
        fromAnotherThread(() -> signals.received(15));
        assertFalse(Thread.currentThread().isInterrupted());
        assertEquals(0, signals.startOver());
    }

    /** Runs {@code handler} as the signal handler's thread would; keeps the interrupt it sends this thread. */
    private static void fromAnotherThread(Runnable handler) {
        Thread thread = new Thread(handler, "signal-handler");
        thread.start();
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) { // the handler's interrupt, which the test looks at
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
