package io.agentd.testkit;

import java.util.function.Supplier;

/**
 * Watches a boot for a guest that will never become ready while QEMU runs on: a daemon thread that
 * asks its check every {@value #POLL_MILLIS} ms and, once the check names a reason, kills QEMU, so
 * that the boot fails at once instead of after its whole timeout. {@link GuestVm} runs two kinds:
 * KVM stopping the guest ({@link Accel#kvmStoppedTheGuest}: AUTO then tries TCG) and a guest hung
 * before its agent started ({@link HungBootCheck}: the boot is tried again).
 */
final class BootWatch {
    static final long POLL_MILLIS = 200;
    /** How long {@link #stop} waits for a check or a kill under way (a kill waits for QEMU's exit). */
    private static final long STOP_WAIT_MILLIS = 10_000;

    private final Process qemu;
    private final Supplier<String> check;
    private final Thread thread;
    private volatile boolean stopped;
    private volatile String reason;

    private BootWatch(Process qemu, String name, Supplier<String> check) {
        this.qemu = qemu;
        this.check = check;
        this.thread = new Thread(this::watch, "agentd-" + name + "-watch " + qemu.pid());
        thread.setDaemon(true);
    }

    /**
     * Starts watching.
     *
     * @param check null while the boot may still succeed; else why it cannot (QEMU is then killed)
     */
    static BootWatch start(Process qemu, String name, Supplier<String> check) {
        BootWatch w = new BootWatch(qemu, name, check);
        w.thread.start();
        return w;
    }

    /** Why the check killed QEMU, or null while it has not. */
    String reason() {
        return reason;
    }

    /** Whether the check killed QEMU. */
    boolean tripped() {
        return reason != null;
    }

    /**
     * The boot is over (ready, or failed): the watch ends, and has ended on return (up to
     * {@value #STOP_WAIT_MILLIS} ms), so that {@link #tripped} then says whether it killed QEMU.
     */
    void stop() {
        stopped = true;
        thread.interrupt();
        try {
            thread.join(STOP_WAIT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the caller's to act on
        }
    }

    private void watch() {
        try {
            while (!stopped && qemu.isAlive()) {
                String why = check.get();
                if (why != null) {
                    reason = why;
                    QemuProcesses.kill(qemu);
                    return;
                }
                Thread.sleep(POLL_MILLIS);
            }
        } catch (InterruptedException e) {
            // stopped
        }
    }
}
