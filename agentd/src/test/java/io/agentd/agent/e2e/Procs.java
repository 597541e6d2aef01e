package io.agentd.agent.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** What /proc says about processes: group members, children, open fds, and whether one is gone. */
final class Procs {
    private static final Path PROC = Path.of("/proc");

    private Procs() {}

    /** Fields after the command name of /proc/PID/stat (index 0 is field 3, state), or null when gone. */
    private static String[] statFields(long pid) {
        try {
            String stat = Files.readString(PROC.resolve(pid + "/stat"), StandardCharsets.US_ASCII);
            return stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Gone, or a zombie: nothing of it runs any more. */
    static boolean gone(long pid) {
        String[] f = statFields(pid);
        return f == null || f[0].equals("Z") || f[0].equals("X");
    }

    /** Field 22, in clock ticks since boot; -1 when gone. */
    static long startTicks(long pid) {
        String[] f = statFields(pid);
        return f == null ? -1 : Long.parseLong(f[19]);
    }

    private static List<Long> pidsWhere(int fieldIndex, long value) {
        List<Long> pids = new ArrayList<>();
        try (Stream<Path> entries = Files.list(PROC)) {
            for (Path p : (Iterable<Path>) entries::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                long pid = Long.parseLong(name);
                String[] f = statFields(pid);
                if (f != null && !f[0].equals("Z") && Long.parseLong(f[fieldIndex]) == value) {
                    pids.add(pid);
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return pids;
    }

    /** Live (not zombie) members of process group {@code pgid}. */
    static List<Long> groupMembers(long pgid) {
        return pidsWhere(2, pgid); // field 5, pgrp
    }

    /** Live (not zombie) children of {@code pid}. */
    static List<Long> children(long pid) {
        return pidsWhere(1, pid); // field 4, ppid
    }

    static int fdCount(long pid) {
        try (Stream<Path> fds = Files.list(PROC.resolve(pid + "/fd"))) {
            return (int) fds.count();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** The lowest fd number {@code pid} does not have open: the one its next open(2) gets. */
    static int lowestFreeFd(long pid) {
        try (Stream<Path> fds = Files.list(PROC.resolve(pid + "/fd"))) {
            List<Integer> open = fds.map(p -> Integer.parseInt(p.getFileName().toString())).sorted().toList();
            int free = 0;
            for (int fd : open) {
                if (fd != free) {
                    break;
                }
                free++;
            }
            return free;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** CPU time used so far (utime + stime, clock ticks). */
    static long cpuTicks(long pid) {
        String[] f = statFields(pid);
        return f == null ? -1 : Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }
}
