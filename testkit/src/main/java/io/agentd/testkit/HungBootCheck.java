package io.agentd.testkit;

import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Whether a guest has hung before its agent started, read from its console while the boot waits.
 * Under TCG (QEMU 7.2, two vCPUs) one boot in some hundreds hangs with no fault of the image, in one
 * of two ways, and either would cost the boot its whole timeout:
 * <ul>
 * <li>the kernel stops before user space (seen after its ACPI lines, and once in the firmware): no
 *     {@code init:} line comes;</li>
 * <li>the vCPUs spin in the kernel while init forks: the kernel's watchdog then reports a soft lockup
 *     every half minute ("watchdog: BUG: soft lockup - CPU#1 stuck for 45s! [init:126]").</li>
 * </ul>
 * A boot that hangs either way is killed and tried again ({@link GuestVm}). A soft lockup counts from
 * {@value #STUCK_SECONDS} s: a host so loaded that a vCPU runs nothing for 20 s can bring a first,
 * passing report, and a real hang reports again with a longer time.
 */
final class HungBootCheck implements Supplier<String> {
    /** The longest a kernel may take from QEMU's start to init's first line (a TCG boot takes 2-5 s to it). */
    static final Duration USER_SPACE_WITHIN = Duration.ofSeconds(60);
    /** The shortest soft lockup taken for a hang. */
    static final int STUCK_SECONDS = 40;

    private final ConsoleLog console;
    private final long startNanos;
    private final Duration userSpaceWithin;
    private final LongSupplier clock;
    private boolean reachedUserSpace;

    /**
     * @param startNanos      QEMU's start, on {@code clock}
     * @param userSpaceWithin how long after it init's first line must have come
     * @param clock           System::nanoTime, or a test's
     */
    HungBootCheck(ConsoleLog console, long startNanos, Duration userSpaceWithin, LongSupplier clock) {
        this.console = console;
        this.startNanos = startNanos;
        this.userSpaceWithin = userSpaceWithin;
        this.clock = clock;
    }

    /** Why the guest counts as hung (to follow "the guest hung before its agent started: "), or null. */
    @Override
    public String get() {
        try {
            if (!reachedUserSpace) {
                reachedUserSpace = console.reachedUserSpace();
                if (!reachedUserSpace && clock.getAsLong() - startNanos > userSpaceWithin.toNanos()) {
                    return "no 'init:' line on its console within " + io.agentd.client.Timeouts.text(userSpaceWithin)
                            + " of QEMU's start (it stopped in the firmware or the kernel)";
                }
            }
            Optional<String> stall = console.softLockup(STUCK_SECONDS);
            return stall.map(line -> "its kernel reports a CPU stuck in it: " + line.strip()).orElse(null);
        } catch (IOException e) {
            return null; // the console cannot be read now; the boot's timeout still ends a hang
        }
    }
}
