package io.agentd.testkit.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.testkit.Guest;
import io.agentd.testkit.GuestVm;
import java.time.Duration;
import java.util.Locale;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The guest's clock against the host's. It stands still while QEMU has the VM stopped, and nothing in
 * the guest sets it again: a review's QMP stop, 20 s, cont left the guest's {@code date +%s} 21 s
 * behind. The kit's relay (as scripts/guest/boot's) hears QEMU's RESUME on its QMP socket and sends
 * the agent core.clock.sync; the kit stops and resumes the VM on a QMP monitor of its own
 * ({@link GuestVm#pause}). A clock set wrong in the guest is set right by {@code agentctl clock-sync}.
 * Needs the guest image and QEMU (skipped without the image, failed when it is required: CI).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClockVmTest {
    /** How far apart `date +%s` (whole seconds) and the host's time may be: the exec's round trip and the rounding. */
    private static final double TOLERANCE_SECONDS = 2.0;
    private static final Duration PAUSE = Duration.ofSeconds(10);

    @Guest
    static GuestVm vm;

    /** The guest's `date +%s` less the host's time in the middle of the exec that read it, in seconds. */
    private static double offsetSeconds() throws Exception {
        long before = System.currentTimeMillis();
        String guest = InGuest.sh(vm, "date +%s").strip();
        long after = System.currentTimeMillis();
        return Long.parseLong(guest) - (before + after) / 2000.0;
    }

    /** The guest's uptime (CLOCK_BOOTTIME, which a stopped VM's does not advance), in seconds. */
    private static double uptimeSeconds() throws Exception {
        return Double.parseDouble(InGuest.sh(vm, "cat /proc/uptime").split(" ")[0]);
    }

    /**
     * The offset once it is within the tolerance, or the last one measured after {@code wait}: the
     * relay's sync goes to the agent as the RESUME event reaches it on its own QMP connection, which
     * may be just after the kit's own {@code cont} returned.
     */
    private static double settledOffset(Duration wait) throws Exception {
        long deadline = System.nanoTime() + wait.toNanos();
        double offset;
        do {
            offset = offsetSeconds();
        } while (Math.abs(offset) > TOLERANCE_SECONDS && System.nanoTime() < deadline && sleep());
        return offset;
    }

    private static boolean sleep() throws InterruptedException {
        Thread.sleep(200);
        return true;
    }

    private static String seconds(double s) {
        return String.format(Locale.ROOT, "%.2f s", s);
    }

    @Test
    @Order(1)
    void theGuestsClockIsTheHostsAfterBoot() throws Exception {
        double offset = offsetSeconds();
        assertTrue(Math.abs(offset) <= TOLERANCE_SECONDS, "the guest's clock is " + seconds(offset) + " off the host's");
    }

    @Test
    @Order(2)
    void afterAPauseOfTenSecondsTheGuestsClockIsTheHostsAgain() throws Exception {
        double uptimeBefore = uptimeSeconds();
        long pausedAt = System.nanoTime();
        vm.pause();
        Thread.sleep(PAUSE.toMillis());
        vm.resume();
        double ran = uptimeSeconds() - uptimeBefore;
        double wall = (System.nanoTime() - pausedAt) / 1e9;
        double offset = settledOffset(Duration.ofSeconds(5));
        assertTrue(ran < wall - PAUSE.toSeconds() + 5, "the VM was stopped: its uptime went on " + seconds(ran)
                + " in " + seconds(wall));
        assertTrue(Math.abs(offset) <= TOLERANCE_SECONDS, "after " + seconds(wall) + " with " + PAUSE.toSeconds()
                + " s stopped, the guest's clock is " + seconds(offset) + " off the host's (the relay syncs it at QEMU's"
                + " RESUME)");
    }

    @Test
    @Order(3)
    void aClockSetBackInTheGuestIsSetRightByAgentctlClockSync() throws Exception {
        InGuest.sh(vm, "date -s @$(( $(date +%s) - 30 )) > /dev/null");
        double off = offsetSeconds();
        assertTrue(off < -25, "set back 30 s: " + seconds(off));
        Agentctl.Result r = new Agentctl(vm).run("clock-sync");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().startsWith("clock-sync: the agent at "), r.stdout());
        double offset = offsetSeconds();
        assertTrue(Math.abs(offset) <= TOLERANCE_SECONDS, "after agentctl clock-sync the guest's clock is "
                + seconds(offset) + " off the host's");
    }
}
