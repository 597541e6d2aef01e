package io.agentd.agent.session.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * A cgroup2 hierarchy faked with plain directories under target/, for the tests of what
 * {@link CgroupRoot} reads when it opens the session subtree, and the start line it then logs.
 */
final class FakeCgroup2 {
    /** The opened root and its one "session cgroups under ..." line. */
    record Opened(CgroupRoot root, String startLine) {}

    /** How a test opens the root (its arguments: the option, /proc/cgroups, /proc/meminfo). */
    interface Opening {
        CgroupRoot open() throws IOException;
    }

    private FakeCgroup2() {}

    /** A new directory under target/ named after {@code prefix}, to hold one test's hierarchy. */
    static Path scratch(String prefix) throws IOException {
        return Files.createTempDirectory(Files.createDirectories(Path.of("target")), prefix).toAbsolutePath();
    }

    /** A directory with the files of a cgroup2 directory; {@code hierarchyRoot}: without cgroup.type, as the root. */
    static Path cgroup(Path dir, String controllers, String procs, boolean hierarchyRoot) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("cgroup.controllers"), controllers.isEmpty() ? "" : controllers + "\n");
        Files.writeString(dir.resolve("cgroup.subtree_control"), "");
        Files.writeString(dir.resolve("cgroup.procs"), procs);
        if (!hierarchyRoot) {
            Files.writeString(dir.resolve("cgroup.type"), "domain\n");
            Files.writeString(dir.resolve("cgroup.events"), "populated 0\nfrozen 0\n");
        }
        return dir;
    }

    /** Opens the root as {@code opening} does, and takes the one start line it logs meanwhile. */
    static Opened open(Opening opening) throws IOException {
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        Logger logger = (Logger) LoggerFactory.getLogger(CgroupRoot.class);
        logger.addAppender(lines);
        CgroupRoot root;
        try {
            root = opening.open();
        } finally {
            logger.detachAppender(lines);
        }
        assertNotNull(root, lines.list.toString());
        List<String> said = lines.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.startsWith("session cgroups under ")).toList();
        assertEquals(1, said.size(), lines.list.toString());
        return new Opened(root, said.get(0));
    }
}
