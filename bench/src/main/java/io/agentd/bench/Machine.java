package io.agentd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the figures were measured on, printed with them. */
final class Machine {
    private Machine() {}

    static String describe() {
        return "cores: " + Runtime.getRuntime().availableProcessors()
                + ", CPU: " + cpuModel()
                + ", JDK: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
                + ", kernel: " + System.getProperty("os.version");
    }

    /** The 1, 5 and 15 minute load averages (other work on the machine skews every figure). */
    static String load() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                    .filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst().orElse("unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
