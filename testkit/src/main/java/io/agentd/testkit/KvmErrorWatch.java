package io.agentd.testkit;

import java.nio.file.Path;

/**
 * Watches a KVM boot for the error that stops the guest without ending QEMU. /dev/kvm can open,
 * QEMU start, and KVM then fail at the guest's first instruction it cannot run ("KVM internal
 * error. Suberror: 1 ... emulation failure", seen on a nested host): QEMU pauses the guest and waits,
 * so the boot would wait its whole timeout. Once QEMU's output says so, the watch kills QEMU: the boot
 * fails at once, and AUTO's trial takes it for a KVM that does not work. A daemon thread per boot.
 */
final class KvmErrorWatch {
    private static final long POLL_MILLIS = 200;
    /** QEMU prints the error line first, then a register dump of some 30 lines. */
    private static final int TAIL_LINES = 200;

    private final Process qemu;
    private final Path qemuLog;
    private final Thread thread;
    private volatile boolean stopped;
    private volatile boolean tripped;

    private KvmErrorWatch(Process qemu, Path qemuLog) {
        this.qemu = qemu;
        this.qemuLog = qemuLog;
        this.thread = new Thread(this::watch, "agentd-kvm-watch " + qemu.pid());
        thread.setDaemon(true);
    }

    static KvmErrorWatch start(Process qemu, Path qemuLog) {
        KvmErrorWatch w = new KvmErrorWatch(qemu, qemuLog);
        w.thread.start();
        return w;
    }

    /** True once QEMU said KVM stopped the guest (QEMU was then killed). */
    boolean tripped() {
        return tripped;
    }

    /** The boot is over (ready, or failed): the watch ends. */
    void stop() {
        stopped = true;
        thread.interrupt();
    }

    private void watch() {
        try {
            while (!stopped && qemu.isAlive()) {
                if (Accel.kvmStoppedTheGuest(QemuProcesses.tail(qemuLog, TAIL_LINES))) {
                    tripped = true;
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
