package io.agentd.agent.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reading a process's /proc files, and the fields of its stat line: for the few questions only the kernel's view answers. */
public final class ProcStat {
    private ProcStat() {}

    /** /proc/PID/{@code file}, whole. readAllLines: JDK 17's Files.readString stops early on /proc files (they report size 0). */
    public static String read(int pid, String file) throws IOException {
        return String.join("\n", Files.readAllLines(Path.of("/proc/" + pid + "/" + file)));
    }

    /**
     * The fields of a stat line from field 3 (state) on, so that field n is at index n - 3: the
     * command name before them may hold spaces and parentheses, so they start past its last ')'.
     *
     * @throws IllegalArgumentException when the line has no command name
     */
    public static String[] fieldsFromState(String stat) {
        int end = stat.lastIndexOf(')');
        if (end < 0 || end + 2 >= stat.length()) {
            throw new IllegalArgumentException("not a stat line");
        }
        return stat.substring(end + 2).split(" ");
    }
}
