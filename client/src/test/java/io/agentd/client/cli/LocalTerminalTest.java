package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The local terminal's mode changes, with a scripted stty. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class LocalTerminalTest {

    /**
     * A restore (the shutdown hook's, run by a System.exit from a signal handler) that comes while
     * the switch to raw is under way waits for it and puts the mode back after it: run at once, it
     * finished first, and the switch then left the terminal raw.
     */
    @Test
    void aRestoreDuringTheSwitchToRawComesAfterIt() throws Exception {
        CountDownLatch rawStarted = new CountDownLatch(1);
        CountDownLatch letRawFinish = new CountDownLatch(1);
        List<String> done = new CopyOnWriteArrayList<>(); // each stty, as it finishes
        LocalTerminal terminal = new LocalTerminal("saved-mode", args -> {
            if (args[0].equals("raw")) {
                rawStarted.countDown();
                try {
                    letRawFinish.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            done.add(String.join(" ", args));
            return "";
        });
        Thread entering = new Thread(terminal::enterRaw, "enter-raw");
        entering.start();
        assertTrue(rawStarted.await(10, TimeUnit.SECONDS));
        Thread restoring = new Thread(terminal::restore, "restore-at-exit");
        restoring.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (restoring.getState() != Thread.State.BLOCKED && restoring.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(5); // the restore is either waiting for the switch or (the bug) already done
        }
        letRawFinish.countDown();
        entering.join(10_000);
        restoring.join(10_000);
        assertEquals(List.of("raw -echo", "saved-mode"), done, "the mode is put back after the switch to raw");
        terminal.restore();
        assertEquals(2, done.size(), "restored once");
    }
}
