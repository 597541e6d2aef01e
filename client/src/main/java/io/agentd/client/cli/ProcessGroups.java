package io.agentd.client.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether this process is in the foreground process group of its controlling terminal. Changing
 * the terminal's mode from a background group (a job started with {@code &} under job control)
 * stops the process with SIGTTOU, so agentctl leaves the mode alone there.
 */
final class ProcessGroups {
    private ProcessGroups() {}

    /** True unless /proc says we are in a background group of our controlling terminal. */
    static boolean inForeground() {
        try {
            return inForeground(Files.readString(Path.of("/proc/self/stat"), StandardCharsets.US_ASCII));
        } catch (IOException | RuntimeException e) {
            return true; // cannot tell: behave as before (stty is under a timeout anyway)
        }
    }

    /**
     * From a /proc/PID/stat line: pgrp (field 5) is the foreground group tpgid (field 8), or there
     * is no controlling terminal (tpgid -1), where no SIGTTOU can come.
     */
    static boolean inForeground(String stat) {
        // comm (field 2) is in parentheses and may hold spaces and parentheses itself
        String[] after = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
        long pgrp = Long.parseLong(after[2]);
        long tpgid = Long.parseLong(after[5]);
        return tpgid <= 0 || pgrp == tpgid;
    }
}
