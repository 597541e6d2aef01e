package io.agentd.testkit;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The QEMU command line of a guest VM: the same machine as scripts/guest/boot (one virtio-serial port
 * named {@code agent} on a unix-socket chardev, the console to a file, no network, no reboot).
 *
 * <p>The flags are written twice, here and in scripts/guest/boot, because the kit must work from a jar
 * where the scripts are absent. {@code QemuCommandTest} reads the script and fails when the two
 * disagree: change both together.
 */
final class QemuCommand {
    /** The program, found on PATH. */
    static final String DEFAULT_BINARY = "qemu-system-x86_64";
    /**
     * The kernel command line before the caller's arguments. quiet: every console byte costs time under
     * TCG. panic=-1 with -no-reboot turns a guest panic into a QEMU exit instead of a hang. The rest
     * saves time under TCG (see scripts/guest/README.md, Boot).
     */
    static final List<String> BASE_KERNEL_ARGS = List.of("console=ttyS0", "quiet", "panic=-1", "tsc=reliable",
            "no_timer_check", "i8042.noaux", "i8042.nokbd", "cryptomgr.notests",
            "initcall_blacklist=crypto_kdf108_init");
    /** The chardev id and the port name the guest's agent looks for. */
    static final String PORT_NAME = "agent";
    /**
     * The port's device id: QEMU reports the guest opening and closing the port on QMP
     * (VSERPORT_CHANGE) only for a device with one, and the relay watches for it under this name.
     */
    static final String PORT_DEVICE_ID = "agent-port";

    private QemuCommand() {
    }

    /**
     * The argv that boots {@code image}.
     *
     * @param accel         TCG or KVM (not AUTO: the caller has chosen)
     *
     * @param chardevSocket where QEMU listens for the host side of the agent's port
     * @param qmpSocket     where QEMU listens for QMP (the relay reads the port's open and close there)
     * @param console       the file the guest's console (ttyS0) is written to
     * @param pidFile       where QEMU writes its pid
     */
    static List<String> argv(String binary, Accel accel, GuestImage image, int memoryMib, int vcpus,
            List<String> kernelArgs, Path chardevSocket, Path qmpSocket, Path console, Path pidFile) {
        List<String> append = new ArrayList<>(BASE_KERNEL_ARGS);
        append.addAll(kernelArgs);
        return List.of(binary, "-accel", accel.qemuName, "-M", "pc", "-cpu", accel.cpu,
                "-m", Integer.toString(memoryMib), "-smp", Integer.toString(vcpus),
                "-kernel", image.kernel().toString(), "-initrd", image.initrd().toString(),
                "-append", String.join(" ", append),
                "-nographic", "-nodefaults", "-no-user-config", "-no-reboot", "-net", "none",
                "-pidfile", pidFile.toString(),
                "-serial", "file:" + console,
                "-qmp", "unix:" + optionValue(qmpSocket) + ",server=on,wait=off",
                "-device", "virtio-serial-pci",
                "-chardev", "socket,id=" + PORT_NAME + ",path=" + optionValue(chardevSocket) + ",server=on,wait=off",
                "-device", "virtserialport,chardev=" + PORT_NAME + ",name=" + PORT_NAME + ",id=" + PORT_DEVICE_ID);
    }

    /**
     * The kit's own QMP monitor, after {@link #argv}: a second {@code -qmp} beside the relay's, where
     * {@link GuestVm#pause} and {@link GuestVm#resume} stop and resume the VM (QEMU serves one client
     * per monitor, the relay holds its own for good, and QEMU sends its events to both, so the relay
     * still hears the RESUME). scripts/guest/boot has no such monitor: kept apart from {@link #argv},
     * whose flags are the script's.
     */
    static List<String> kitMonitor(Path monitorSocket) {
        return List.of("-qmp", "unix:" + optionValue(monitorSocket) + ",server=on,wait=off");
    }

    /**
     * {@code word} as one parameter of the kernel command line (QEMU's {@code -append}): NAME=VALUE, or
     * a NAME alone. A VALUE with whitespace goes in double quotes, NAME="VALUE": the kernel keeps that
     * one parameter and removes the quotes (kernel/params.c, next_arg), and the guest's init reads
     * /proc/cmdline the same way (scripts/guest/init, kernel_params). So does a VALUE with any other
     * character outside visible ASCII: the kernel's isspace() is also true of the byte 0xA0, which is
     * part of UTF-8 characters such as U+00E0 (C3 A0). A VALUE of visible ASCII is passed as it is.
     *
     * @throws IllegalArgumentException for what one parameter cannot carry: a blank word; a NAME that is
     *                                  not visible ASCII (e.g. two parameters in one word); a double
     *                                  quote, newline or NUL anywhere (the kernel has no escape for a
     *                                  quote, init reads /proc/cmdline by lines, a NUL ends it)
     */
    static String kernelParameter(String word) {
        if (word.isBlank()) {
            throw new IllegalArgumentException("a kernel argument is blank: \"" + word + "\"");
        }
        if (word.chars().anyMatch(c -> c == '"' || c == '\n' || c == 0)) {
            throw new IllegalArgumentException("a kernel argument cannot hold a double quote, newline or NUL (the"
                    + " command line has no escape for a quote, the guest's init reads it by lines, a NUL ends it): "
                    + word.replace("\n", "\\n").replace("\0", "\\0"));
        }
        int eq = word.indexOf('=');
        String name = eq < 0 ? word : word.substring(0, eq);
        if (!visibleAscii(name)) {
            throw new IllegalArgumentException("a kernel argument is one parameter, NAME or NAME=VALUE, and its"
                    + " NAME one word of visible ASCII (pass each parameter as an argument of its own): \"" + word + "\"");
        }
        return eq < 0 || visibleAscii(word) ? word : name + "=\"" + word.substring(eq + 1) + "\"";
    }

    private static boolean visibleAscii(String s) {
        return s.chars().allMatch(c -> c > ' ' && c < 0x7f);
    }

    /**
     * {@code path} inside a {@code -chardev} or {@code -qmp unix:} value. QEMU splits those at commas
     * into key=value pairs and reads a doubled comma as a comma of the value, so a run directory such
     * as {@code /tmp/run,1} would otherwise end the path at its comma. {@code -serial file:},
     * {@code -kernel}, {@code -initrd} and {@code -pidfile} take their argument whole: their paths are
     * not escaped (doubled, they would name another file).
     */
    private static String optionValue(Path path) {
        return path.toString().replace(",", ",,");
    }
}
