package io.agentd.agent.session.cgroup;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * cgroup v2's flat keyed files (cpu.stat, memory.events, cgroup.events): one "key value" pair a
 * line. Lines that are not a key and a number are skipped: newer kernels add keys, and a value we
 * cannot read is better unknown than a start-up failure.
 */
final class FlatKeyed {
    private FlatKeyed() {}

    /** The cgroup file's pairs; none when it cannot be read (the controller is not enabled). */
    static Map<String, Long> read(Path file) {
        String text = CgroupFs.read(file);
        return parse(text == null ? "" : text);
    }

    static Map<String, Long> parse(String text) {
        Map<String, Long> values = new HashMap<>();
        for (String line : text.split("\n")) {
            int space = line.indexOf(' ');
            if (space <= 0) {
                continue;
            }
            try {
                values.put(line.substring(0, space), Long.parseLong(line.substring(space + 1).trim()));
            } catch (NumberFormatException notANumber) {
                // "max" and the like: not a count
            }
        }
        return values;
    }
}
