package io.agentd.agent.session.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A --cgroup-root that cannot be used: the agent warns and runs without session cgroups, and makes
 * nothing on the way, for a path outside cgroup2 is a mistake (a typo, the wrong mount) whose
 * directories nobody asked for. Temporary directories stand in for the file systems: one with a
 * cgroup.controllers file, a file only cgroup v2 directories have, stands for a cgroup2 directory.
 */
class CgroupRootOptionTest {

    @Test
    void aMissingRootOutsideCgroup2IsRefusedWithAWarningAndNothingIsMade() throws Exception {
        Path tmp = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "cgroup-option-");
        Path deep = tmp.resolve("cg/deep/er");
        Path shallow = tmp.resolve("one");
        for (Path root : List.of(deep, shallow)) {
            List<ILoggingEvent> said = new ArrayList<>();
            assertNull(openLogging(root, said));
            assertEquals(1, said.size(), said.toString());
            assertEquals(Level.WARN, said.get(0).getLevel());
            String line = said.get(0).getFormattedMessage();
            assertTrue(line.startsWith("no cgroups for sessions (" + root + " cannot be used: "), line);
            assertTrue(line.contains("cgroup2"), line);
        }
        try (Stream<Path> made = Files.list(tmp)) {
            assertEquals(List.of(), made.toList(), "nothing was made under " + tmp);
        }
    }

    /** The last component alone is made, in a cgroup2 directory (the kernel fills it with its files). */
    @Test
    void aMissingRootIsMadeOnlyInACgroup2Directory() throws Exception {
        Path parent = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "cgroup-option-");
        Files.writeString(parent.resolve("cgroup.controllers"), "cpu memory pids\n");
        Path root = parent.resolve("agentd");
        // Not a real cgroup, so the made directory has no cgroup.procs and is refused after all.
        List<ILoggingEvent> said = new ArrayList<>();
        assertNull(openLogging(root, said));
        assertTrue(Files.isDirectory(root), "made in a cgroup2 directory");
        assertEquals(1, said.size(), said.toString());
        assertTrue(said.get(0).getFormattedMessage().contains("not a writable cgroup2 directory"), said.toString());

        Path twoDown = parent.resolve("a/b");
        assertNull(openLogging(twoDown, new ArrayList<>()));
        assertTrue(Files.notExists(parent.resolve("a")), "no parents are made, not even in cgroup2");
    }

    /**
     * A cgroup v1 directory (cgroup.procs, no cgroup.controllers) is refused: it was taken, and its
     * sessions were never seen empty (no cgroup.events) and their figures never read.
     */
    @Test
    void aCgroupV1DirectoryIsRefused() throws Exception {
        Path v1 = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "cgroup-v1-");
        Files.writeString(v1.resolve("cgroup.procs"), "");
        Files.writeString(v1.resolve("tasks"), "");
        List<ILoggingEvent> said = new ArrayList<>();
        assertNull(openLogging(v1, said));
        assertTrue(said.get(0).getFormattedMessage().contains("no cgroup.controllers"), said.toString());
    }

    /** {@link CgroupRoot#open} with {@code root}, its log lines added to {@code said}. */
    private static CgroupRoot openLogging(Path root, List<ILoggingEvent> said) {
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        Logger logger = (Logger) LoggerFactory.getLogger(CgroupRoot.class);
        logger.addAppender(lines);
        try {
            return CgroupRoot.open(root.toString());
        } finally {
            logger.detachAppender(lines);
            said.addAll(lines.list);
        }
    }
}
