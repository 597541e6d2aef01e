package io.agentd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Memory figures of a live process from /proc/PID/status, in bytes. */
record ProcStatus(long rssBytes, long peakRssBytes) {

    static ProcStatus of(long pid) throws IOException {
        long rss = -1;
        long hwm = -1;
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                rss = kib(line);
            } else if (line.startsWith("VmHWM:")) {
                hwm = kib(line);
            }
        }
        if (rss < 0 || hwm < 0) {
            throw new IOException("no VmRSS/VmHWM in /proc/" + pid + "/status (process gone?)");
        }
        return new ProcStatus(rss, hwm);
    }

    /** "VmRSS:	   12345 kB" -> bytes. */
    private static long kib(String line) {
        String[] parts = line.trim().split("\\s+");
        return Long.parseLong(parts[1]) * 1024;
    }
}
