package io.agentd.agent.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/** A kernel file of one line holding one decimal number (/proc/sys/fs/nr_open, /proc/self/oom_score_adj). */
public final class ProcNumber {
    private ProcNumber() {}

    /** The number in {@code file}; empty when it cannot be read or holds anything but one number on one line. */
    public static OptionalLong read(Path file) {
        try {
            // readAllLines: JDK 17's Files.readString can stop early on /proc files (they report size 0).
            List<String> lines = Files.readAllLines(file);
            return lines.size() == 1 ? OptionalLong.of(Long.parseLong(lines.get(0).trim())) : OptionalLong.empty();
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
    }
}
