package io.agentd.agent.session.cgroup;

import io.agentd.agent.sys.Os;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sets the sessions' cgroup's memory.max at start: gathers what {@link SessionsMemoryMax} needs
 * (/proc/meminfo, the sessions' shmem, the lowest memory.max above them), writes the limit it gives
 * and says it for the start line and the serving line. The option and its arithmetic are
 * {@link SessionsMemoryMax}'s; the files are this class's.
 */
final class SessionsMemoryMaxWriter {
    private static final Pattern MEMINFO_LINE = Pattern.compile("([A-Za-z0-9_()]+):\\s+(\\d+)(\\s+kB)?\\s*");

    private SessionsMemoryMaxWriter() {}

    /**
     * Writes the sessions' memory.max (--sessions-memory-max) and says it in {@code notes}; returns the
     * limit in a few words for the serving line. The cgroup is the agent's own, so a value an earlier
     * agent wrote there is replaced; a lower memory.max on the subtree or above it is the operator's,
     * never touched, and the default stays below it.
     */
    static String write(Path sessions, SessionsMemoryMax option, Path procMeminfo, StringBuilder notes) {
        Map<String, Long> meminfo = meminfo(CgroupFs.read(procMeminfo));
        Long sessionsShmem = FlatKeyed.read(sessions.resolve("memory.stat")).get("shmem");
        long aboveMax = -1;
        String aboveDir = null;
        for (Path up = sessions.toAbsolutePath().getParent(); up != null && Files.exists(up.resolve("cgroup.controllers"));
                up = up.getParent()) {
            long max = bytesOrMax(CgroupFs.read(up.resolve("memory.max")));
            if (max >= 0 && (aboveMax < 0 || max < aboveMax)) {
                aboveMax = max;
                aboveDir = up.toString();
            }
        }
        SessionsMemoryMax.Limit limit = option.limitFor(new SessionsMemoryMax.Facts(meminfo.getOrDefault("MemTotal", -1L),
                meminfo.getOrDefault("Shmem", -1L), sessionsShmem == null ? 0 : sessionsShmem, aboveMax, aboveDir));
        int err = CgroupFs.write(sessions.resolve("memory.max"), limit.bytes() < 0 ? "max" : Long.toString(limit.bytes()));
        if (err != 0) {
            notes.append("; sessions' memory.max not set (").append(Os.errnoDescription(err)).append(", ")
                    .append(Os.errnoName(err)).append("): ").append(limit.why());
            return "sessions' memory not limited (memory.max: " + Os.errnoName(err) + ")";
        }
        long current = bytesOrMax(CgroupFs.read(sessions.resolve("memory.current")));
        String inUse = current <= 0 ? "" : "; they hold " + SessionsMemoryMax.mib(current) + " now (memory.current)";
        if (limit.bytes() < 0) {
            notes.append("; sessions' memory ").append(limit.why()).append(inUse);
            return "sessions' memory " + limit.why();
        }
        notes.append("; sessions' memory.max ").append(SessionsMemoryMax.exact(limit.bytes())).append(": ")
                .append(limit.why()).append(inUse);
        return "sessions' memory.max " + SessionsMemoryMax.exact(limit.bytes());
    }

    /** /proc/meminfo's fields in bytes (its "kB" values). */
    static Map<String, Long> meminfo(String text) {
        Map<String, Long> values = new LinkedHashMap<>();
        for (String line : (text == null ? "" : text).split("\n")) {
            Matcher m = MEMINFO_LINE.matcher(line);
            if (m.matches()) {
                try {
                    values.put(m.group(1), Long.parseLong(m.group(2)) * (m.group(3) == null ? 1 : 1024));
                } catch (NumberFormatException pastALong) {
                    // not a figure of any machine
                }
            }
        }
        return values;
    }

    /** A memory.max or memory.current: its bytes, or -1 for "max" or a file that cannot be read. */
    static long bytesOrMax(String text) {
        if (text == null) {
            return -1;
        }
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException max) {
            return -1;
        }
    }
}
