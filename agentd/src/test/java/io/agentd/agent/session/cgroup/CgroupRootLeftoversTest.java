package io.agentd.agent.session.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.agentd.agent.FirstLinesLog;
import io.agentd.agent.session.SessionGroupRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The start's sweep of a dead agent's session cgroups, on a fake subtree (a temporary directory with
 * a cgroup.procs file, given as --cgroup-root): nothing here is a real cgroup, and the cgroups it
 * finds are empty, so the sweep removes the dead agent's and kills nothing.
 */
class CgroupRootLeftoversTest {

    @Test
    void aNameWithNumbersPastALongIsLeftAloneAndTheSweepGoesOn() throws Exception {
        Path root = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "cgroup-root-");
        Files.writeString(root.resolve("cgroup.procs"), "");
        Files.writeString(root.resolve("cgroup.controllers"), "");
        long self = ProcessHandle.current().pid();
        // A session with write access to the subtree can mkdir any name; these two match the session
        // cgroups' pattern but hold a pid or a start time no long can hold.
        Path pidPastALong = Files.createDirectory(root.resolve("s-99999999999999999999-1-1"));
        Path ticksPastALong = Files.createDirectory(root.resolve("s-1-99999999999999999999-1"));
        Path deadAgents = Files.createDirectory(root.resolve("s-" + Integer.MAX_VALUE + "-5-0"));
        Path ours = Files.createDirectory(root.resolve("s-" + self + "-" + SessionGroupRecord.startTicksOf(self) + "-0"));
        CgroupRoot cgroups = CgroupRoot.open(root.toString());
        assertNotNull(cgroups, "a directory with a writable cgroup.procs is taken as the subtree");

        assertEquals(0, cgroups.killLeftovers(), "nothing was populated");

        assertTrue(Files.isDirectory(pidPastALong), "not an agent's cgroup: left alone");
        assertTrue(Files.isDirectory(ticksPastALong), "not an agent's cgroup: left alone");
        assertFalse(Files.exists(deadAgents), "a dead agent's empty cgroup is removed, whatever came before it");
        assertTrue(Files.isDirectory(ours), "a live agent's cgroup is its own");
    }

    /**
     * A dead agent's session cgroup in which its session made cgroups of its own (a root session may)
     * is removed with them, the deepest first. Before, its rmdir failed (EBUSY on cgroupfs, not empty
     * here) at every sweep and every later start, for good.
     */
    @Test
    void aCgroupWithCgroupsMadeInsideItIsRemovedWithThem() throws Exception {
        Path root = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "cgroup-root-");
        Files.writeString(root.resolve("cgroup.procs"), "");
        Files.writeString(root.resolve("cgroup.controllers"), "");
        Path deadAgents = Files.createDirectory(root.resolve("s-" + Integer.MAX_VALUE + "-5-0"));
        Files.createDirectories(deadAgents.resolve("made/by/the/session"));
        Files.createDirectories(deadAgents.resolve("another"));
        CgroupRoot cgroups = CgroupRoot.open(root.toString());
        assertEquals(0, cgroups.killLeftovers(), "nothing was populated");
        assertFalse(Files.exists(deadAgents), "removed with the cgroups inside it");
    }

    /** A session that made a thousand such names costs the start's log eleven lines, not a thousand. */
    @Test
    void aThousandNamesLeftAloneLogTheFirstFewAndACount() throws Exception {
        Path root = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "cgroup-root-");
        Files.writeString(root.resolve("cgroup.procs"), "");
        Files.writeString(root.resolve("cgroup.controllers"), "");
        for (int i = 0; i < 1000; i++) {
            Files.createDirectory(root.resolve("s-" + i + "99999999999999999999-1-1"));
        }
        CgroupRoot cgroups = CgroupRoot.open(root.toString());
        assertNotNull(cgroups);
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        Logger logger = (Logger) LoggerFactory.getLogger(CgroupRoot.class);
        logger.addAppender(lines);
        try {
            assertEquals(0, cgroups.killLeftovers());
        } finally {
            logger.detachAppender(lines);
        }
        List<String> said = lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        assertEquals(FirstLinesLog.FIRST + 1, said.size(), said.subList(0, Math.min(12, said.size())).toString());
        assertTrue(said.get(FirstLinesLog.FIRST).startsWith("990 more cgroups left alone"), said.toString());
        assertTrue(said.get(FirstLinesLog.FIRST).endsWith("(1000 in all)"), said.toString());
    }
}
