package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.agentd.agent.LogText;
import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.spawn.ExecReport;
import io.agentd.agent.spawn.Profile;
import io.agentd.agent.spawn.SpawnSpec;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.FailureKind;
import java.util.List;
import jnr.constants.platform.Errno;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A request answered failed is logged at INFO when the host named what cannot be run as asked (a
 * command that does not exist, a user that does not exist, bad arguments) and at WARN when the
 * guest or the agent refused or failed: an operator reads WARN as "look at the agent", and a host's
 * missing binary was a warning. The failures are the agent's own ({@link ExecReport}), with the
 * stages and errnos it reports.
 */
class HostEventLogTest {
    private static final SpawnSpec SPEC = new SpawnSpec("no-such-tool", List.of(), List.of(), "/work", "bob", false,
            24, 80, List.of(), Profile.DEFAULT);

    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(PortLink.class);

    @BeforeEach
    void capture() {
        lines.start();
        logger.addAppender(lines);
    }

    @AfterEach
    void release() {
        logger.detachAppender(lines);
    }

    private static ExecFailed report(String stage, Errno errno) {
        return ExecReport.failure(stage, errno == null ? 0 : errno.intValue(), SPEC);
    }

    private static String levelOf(ExecFailed failed) {
        return HostEventLog.levelOf(failed) + " " + failed.kind();
    }

    @Test
    void theHostsMistakesAreInfo() {
        assertEquals("INFO not_found", levelOf(report("execve", Errno.ENOENT)));
        assertEquals("INFO not_executable", levelOf(report("execve", Errno.ENOEXEC)));
        assertEquals("INFO not_executable", levelOf(report("execve", Errno.EISDIR)));
        assertEquals("INFO bad_args", levelOf(report("execve", Errno.E2BIG)));
        assertEquals("INFO bad_args", levelOf(report("execve", Errno.ENAMETOOLONG)));
        assertEquals("INFO bad_cwd", levelOf(report("chdir", Errno.ENOENT)));
        assertEquals("INFO bad_cwd", levelOf(report("execve", Errno.ENOTDIR)));
        // no such user, no such group: a lookup that found no entry (no errno)
        assertEquals("INFO user_setup_failed", levelOf(report("getpwnam", null)));
        assertEquals("INFO user_setup_failed", levelOf(report("getgrnam", null)));
        // refused before the spawn: start_detached without detachable, an unknown profile, too large
        assertEquals("INFO bad_args", levelOf(ExecFailed.of(FailureKind.BAD_ARGS, null, null,
                "start_detached needs detachable: true", null)));
    }

    @Test
    void refusalsAndFailuresOfTheGuestOrTheAgentAreWarn() {
        assertEquals("WARN permission_denied", levelOf(report("execve", Errno.EACCES)));
        assertEquals("WARN permission_denied", levelOf(report("execve", Errno.EPERM)));
        assertEquals("WARN resource_limit", levelOf(report("execve", Errno.EMFILE)));
        assertEquals("WARN resource_limit", levelOf(report("clone", Errno.EAGAIN)));
        assertEquals("WARN out_of_memory", levelOf(report("execve", Errno.ENOMEM)));
        assertEquals("WARN other", levelOf(report("execve", Errno.EIO)));
        assertEquals("WARN user_setup_failed", levelOf(report("setuid", Errno.EPERM)));
        assertEquals("WARN user_setup_failed", levelOf(report("getpwnam", Errno.EIO))); // /etc/passwd unreadable
        assertEquals("WARN pty_setup_failed", levelOf(report("posix_openpt", Errno.ENOSPC)));
        assertEquals("WARN other", levelOf(report("died before exec", null)));
        // a step that never finished (a mount that does not answer): no errno, the child killed
        assertEquals("WARN bad_cwd", levelOf(ExecReport.overdue("chdir", 5000, SPEC)));
        assertEquals("WARN user_setup_failed", levelOf(ExecReport.overdue("setuid", 5000, SPEC)));
        // ENOENT at a profile's read-only mount is the guest's, not a missing command
        assertEquals("WARN not_found", levelOf(report("mount", Errno.ENOENT)));
        assertEquals("WARN other", levelOf(ExecFailed.of(FailureKind.OTHER, null, null, "the agent is shutting down",
                null)));
        assertEquals("WARN a-kind-from-later", levelOf(new ExecFailed("a-kind-from-later", null, null, "m", null)));
    }

    @Test
    void theLineIsAtItsLevelAndBoundedAsBefore() {
        HostEventLog.logRequestFailed("connection 1: ", 7, report("execve", Errno.ENOENT), LogText.quote("no-such-tool"));
        String huge = "x".repeat(100_000);
        HostEventLog.logRequestFailed("connection 1: ", 8, new ExecFailed("resource_limit", 24, "EMFILE",
                "cannot run \"" + huge + "\": too many open files", "execve"), LogText.quote(huge));
        assertEquals(2, lines.list.size());
        ILoggingEvent notFound = lines.list.get(0);
        assertEquals(Level.INFO, notFound.getLevel());
        assertTrue(notFound.getFormattedMessage().startsWith("connection 1: session 7 failed: kind=not_found"
                + " stage=execve errno=ENOENT cmd=\"no-such-tool\": cannot run \"no-such-tool\""),
                notFound.getFormattedMessage());
        ILoggingEvent agentSide = lines.list.get(1);
        assertEquals(Level.WARN, agentSide.getLevel());
        assertTrue(agentSide.getFormattedMessage().length() < 1000, agentSide.getFormattedMessage().length() + " chars");
    }

    /**
     * A host that sends a missing command in a loop gets 20 INFO lines a second, and its count at
     * INFO: the WARN failures keep a rate of their own and are not hidden behind it.
     */
    @Test
    void eachLevelHasItsRateAndItsCountAtItsLevel() {
        ScriptedLoop loop = new ScriptedLoop();
        HostEventLog events = new HostEventLog(loop);
        for (int i = 1; i <= 50; i++) {
            events.requestFailed("connection 1", i, report("execve", Errno.ENOENT), "\"no-such-tool\"");
        }
        for (int i = 51; i <= 55; i++) {
            events.requestFailed("connection 1", i, report("execve", Errno.EMFILE), "\"tool\"");
        }
        loop.advance(2000);
        assertEquals(HostEventLog.LINES_PER_SECOND, count(Level.INFO, "failed: kind=not_found"));
        assertEquals(5, count(Level.WARN, "failed: kind=resource_limit"));
        assertEquals(1, count(Level.INFO, "30 more failed requests that named what cannot be run as asked"));
        assertEquals(0, count(Level.WARN, "not logged"));
    }

    private long count(Level level, String fragment) {
        return lines.list.stream().filter(e -> e.getLevel() == level && e.getFormattedMessage().contains(fragment)).count();
    }
}
