package io.agentd.agent.session;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * Waits for the processes of some process groups to be gone, as /proc shows them. kill(-pgid, 0)
 * cannot tell: a zombie still counts as a member, and the killed processes of a dead agent are
 * reaped by whichever ancestor inherited them, perhaps never. A zombie runs nothing, so it counts
 * as gone here.
 */
final class ProcessGroups {
    private static final Path PROC = Path.of("/proc");
    private static final long POLL_MILLIS = 10;

    private ProcessGroups() {}

    /** True once no live process is in any of {@code pgids}; false if some still is after the timeout. */
    static boolean awaitGone(Set<Integer> pgids, long timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (anyAlive(pgids)) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    private static boolean anyAlive(Set<Integer> pgids) {
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(PROC, p -> isPid(p.getFileName().toString()))) {
            for (Path proc : procs) {
                String stat;
                try {
                    stat = Files.readString(proc.resolve("stat"), StandardCharsets.US_ASCII);
                } catch (IOException exited) {
                    continue;
                }
                // After the command name: state (field 3), ppid, pgrp (field 5).
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ", 4);
                if (!fields[0].equals("Z") && !fields[0].equals("X") && pgids.contains(Integer.parseInt(fields[2]))) {
                    return true;
                }
            }
        } catch (IOException | RuntimeException e) {
            return false; // no /proc to look at: nothing to wait for
        }
        return false;
    }

    private static boolean isPid(String name) {
        return !name.isEmpty() && name.chars().allMatch(c -> c >= '0' && c <= '9');
    }
}
