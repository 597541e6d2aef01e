package io.agentd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

/**
 * The run's scratch directory under /tmp: gone after a run that met every target; after a miss only
 * its logs stay, for the reader to look into. The data a benchmark wrote there (its input files, up
 * to a few hundred MiB each, the copies agentctl made, sockets) goes either way, so repeated runs do
 * not fill /tmp.
 */
final class WorkDir {
    private WorkDir() {}

    /** Deletes {@code root} and everything under it. */
    static void delete(Path root) throws IOException {
        for (Path p : deepestFirst(root)) {
            Files.deleteIfExists(p);
        }
    }

    /** Deletes everything under {@code root} but the files named *.log and the directories holding them. */
    static void keepLogsOnly(Path root) throws IOException {
        for (Path p : deepestFirst(root)) {
            if (p.equals(root)) {
                continue;
            }
            if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                try (var left = Files.list(p)) {
                    if (left.findAny().isPresent()) {
                        continue; // it holds a log
                    }
                }
            } else if (p.getFileName().toString().endsWith(".log")) {
                continue;
            }
            Files.deleteIfExists(p);
        }
    }

    private static List<Path> deepestFirst(Path root) throws IOException {
        try (var paths = Files.walk(root)) {
            return paths.sorted(Comparator.reverseOrder()).toList();
        }
    }
}
