package io.agentd.testkit;

import java.nio.file.Path;

/**
 * What the end of a guest's console says once things went wrong: the quote a failure shows, and
 * whether the kernel powered the machine off (QEMU's exit status alone cannot tell).
 */
final class ConsoleEnd {
    /** Lines of the console an exception quotes. */
    static final int ERROR_TAIL_LINES = 40;
    /**
     * How far back an exception's quote of the console looks for a kernel panic's own line: its
     * reason, printed before a trace that can run past {@link #ERROR_TAIL_LINES} lines (the kernel
     * reboots at once, under panic=-1, with the trace as its last lines).
     */
    static final int PANIC_TAIL_LINES = 200;
    static final String KERNEL_PANIC = "Kernel panic - not syncing";
    /** The kernel's last console line when it powers the machine off (kernel_power_off). */
    static final String POWER_DOWN_LINE = "reboot: Power down";

    private ConsoleEnd() {
    }

    /**
     * The console's end as an exception quotes it: its last {@link #ERROR_TAIL_LINES} lines or,
     * when a kernel panic's trace pushed the panic's own line out of them, from that line on.
     */
    static String quote(Path file) {
        String text = QemuProcesses.tail(file, ERROR_TAIL_LINES);
        long lines = ERROR_TAIL_LINES;
        if (!text.contains(KERNEL_PANIC)) {
            String longer = QemuProcesses.tail(file, PANIC_TAIL_LINES);
            int panic = longer.lastIndexOf(KERNEL_PANIC);
            if (panic >= 0) {
                text = longer.substring(longer.lastIndexOf('\n', panic) + 1);
                lines = text.lines().count();
            }
        }
        return "--- console, last " + lines + " lines (" + file + "):\n" + text;
    }

    /**
     * Whether the kernel powered the machine off: QEMU exits 0 after a kernel panic as after a
     * power-off (panic=-1, -no-reboot), and only the console tells them apart. The kernel prints its
     * last line at KERN_EMERG, so quiet keeps it.
     */
    static boolean poweredOff(Path console) {
        return QemuProcesses.tail(console, 5).contains(POWER_DOWN_LINE);
    }
}
