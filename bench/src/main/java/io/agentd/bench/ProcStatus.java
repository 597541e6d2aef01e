package io.agentd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Memory figures of a live process from /proc/PID/status, in bytes. */
record ProcStatus(long rssBytes, long peakRssBytes) {

    static ProcStatus of(long pid) throws IOException {
        return parse(Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")), "/proc/" + pid + "/status");
    }

    /** The figures of a /proc/PID/status's lines; {@code source} names them in the error. */
    static ProcStatus parse(List<String> statusLines, String source) throws IOException {
        long rss = -1;
        long hwm = -1;
        for (String line : statusLines) {
            if (line.startsWith("VmRSS:")) {
                rss = kib(line);
            } else if (line.startsWith("VmHWM:")) {
                hwm = kib(line);
            }
        }
        if (rss < 0 || hwm < 0) {
            throw new IOException("no VmRSS/VmHWM in " + source + " (process gone?)");
        }
        return new ProcStatus(rss, hwm);
    }

    /** User and system CPU time a process has used so far, from /proc/PID/stat (10 ms resolution). */
    record CpuTime(long userNanos, long systemNanos) {
        static CpuTime of(long pid) throws IOException {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // Fields after the parenthesised command (which may hold spaces): state is field 3, utime 14, stime 15.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return new CpuTime(Long.parseLong(f[11]) * NANOS_PER_TICK, Long.parseLong(f[12]) * NANOS_PER_TICK);
        }

        static CpuTime ofThisProcess() throws IOException {
            return of(ProcessHandle.current().pid());
        }

        long totalNanos() {
            return userNanos + systemNanos;
        }

        CpuTime minus(CpuTime earlier) {
            return new CpuTime(userNanos - earlier.userNanos, systemNanos - earlier.systemNanos);
        }

        CpuTime plus(CpuTime other) {
            return new CpuTime(userNanos + other.userNanos, systemNanos + other.systemNanos);
        }

        /** "user 61%" of the total, for figure names. */
        String userShare() {
            return totalNanos() == 0 ? "user -" : "user " + Math.round(100.0 * userNanos / totalNanos()) + "%";
        }
    }

    /** USER_HZ is 100 on every Linux architecture the agent runs on. */
    private static final long NANOS_PER_TICK = 10_000_000L;

    /** "VmRSS:	   12345 kB" -> bytes. */
    private static long kib(String line) {
        String[] parts = line.trim().split("\\s+");
        return Long.parseLong(parts[1]) * 1024;
    }
}
