package io.agentd.agent.spawn;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Pids of this JVM's children, zombies included, from /proc/self/task/TID/children. */
final class JvmChildren {
    private JvmChildren() {}

    static List<Integer> pids() throws IOException {
        List<Integer> pids = new ArrayList<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                String children;
                try { // readAllLines: JDK 17's Files.readString can stop early on /proc files (size 0)
                    children = String.join(" ", Files.readAllLines(task.resolve("children")));
                } catch (NoSuchFileException threadEnded) {
                    continue; // a JVM thread (a pool's, a finished future's) ended after the listing
                }
                for (String pid : children.trim().split(" +")) {
                    if (!pid.isEmpty()) {
                        pids.add(Integer.parseInt(pid));
                    }
                }
            }
        }
        return pids;
    }
}
