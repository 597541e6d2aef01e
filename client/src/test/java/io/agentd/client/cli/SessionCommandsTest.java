package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.SessionAttached;
import io.agentd.protocol.payload.SessionInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The command lines of exec --detach and attach, and the table of ps. */
class SessionCommandsTest {

    @Test
    void detachMakesADetachableRequestAndRefusesDashIAndStats() throws Exception {
        ExecOptions o = ExecOptions.parse(List.of("--detach", "-t", "--", "top"));
        assertTrue(o.detach());
        assertTrue(o.toRequest(30, 100, List.of()).detachable());
        assertTrue(ExecOptions.parse(List.of("-d", "true")).toRequest(24, 80, List.of()).detachable());
        assertFalse(ExecOptions.parse(List.of("true")).toRequest(24, 80, List.of()).detachable());
        assertTrue(assertThrows(UsageException.class, () -> ExecOptions.parse(List.of("-d", "-i", "cat")))
                .getMessage().contains("--detach does not go with -i"));
        assertTrue(assertThrows(UsageException.class, () -> ExecOptions.parse(List.of("-d", "--stats", "true")))
                .getMessage().contains("--detach does not go with --stats"));
    }

    /** docker's form: on unless "=false"; the value is never the next argument, which stays the command. */
    @Test
    void sigProxyIsOnUnlessSetFalseAndNeverTakesTheNextArgument() throws Exception {
        assertTrue(ExecOptions.parse(List.of("true")).sigProxy());
        assertFalse(ExecOptions.parse(List.of("--sig-proxy=false", "true")).sigProxy());
        assertTrue(ExecOptions.parse(List.of("--sig-proxy=true", "true")).sigProxy());
        ExecOptions bare = ExecOptions.parse(List.of("--sig-proxy", "false"));
        assertTrue(bare.sigProxy());
        assertEquals("false", bare.cmd());
        assertTrue(assertThrows(UsageException.class, () -> ExecOptions.parse(List.of("--sig-proxy=no", "true")))
                .getMessage().contains("--sig-proxy is true or false, not 'no'"));
        assertEquals(new AttachCommand.Options(false, false, null, 4, DetachKeys.DEFAULT, false),
                AttachCommand.parse(List.of("--sig-proxy=false", "4")));
    }

    @Test
    void attachTakesOneSessionAnOffsetAndTheExecFlags() throws Exception {
        assertEquals(new AttachCommand.Options(false, false, null, 7, DetachKeys.DEFAULT, true), AttachCommand.parse(List.of("7")));
        assertEquals(new AttachCommand.Options(true, true, 0L, 12, "ctrl-x,q", true),
                AttachCommand.parse(List.of("-it", "--from", "0", "--detach-keys", "ctrl-x,q", "12")));
        assertEquals(new AttachCommand.Options(true, true, null, 12, "", true),
                AttachCommand.parse(List.of("-it", "--detach-keys=", "12")));
        assertTrue(assertThrows(UsageException.class, () -> AttachCommand.parse(List.of("--detach-keys", "ctrl-1", "1")))
                .getMessage().contains("'ctrl-1' is no key"));
        assertEquals(new AttachCommand.Options(true, false, 5L, 3, DetachKeys.DEFAULT, true), AttachCommand.parse(List.of("--from=5", "3", "-i")));
        assertTrue(assertThrows(UsageException.class, () -> AttachCommand.parse(List.of()))
                .getMessage().contains("no SESSION given"));
        assertTrue(assertThrows(UsageException.class, () -> AttachCommand.parse(List.of("1", "2")))
                .getMessage().contains("one SESSION only"));
        assertTrue(assertThrows(UsageException.class, () -> AttachCommand.parse(List.of("x")))
                .getMessage().contains("SESSION is a number"));
        assertTrue(assertThrows(UsageException.class, () -> AttachCommand.parse(List.of("--from", "-1", "2")))
                .getMessage().contains("--from is a number"));
        assertTrue(assertThrows(UsageException.class, () -> AttachCommand.parse(List.of("-x", "2")))
                .getMessage().contains("unknown"));
    }

    /** "--" ends the options, as everywhere else; before, attach refused it as an unknown option. */
    @Test
    void attachTakesTheSessionAfterDoubleDash() throws Exception {
        assertEquals(new AttachCommand.Options(true, false, null, 5, DetachKeys.DEFAULT, true),
                AttachCommand.parse(List.of("-i", "--", "5")));
        assertTrue(assertThrows(UsageException.class, () -> AttachCommand.parse(List.of("--", "-i")))
                .getMessage().contains("SESSION"), "after --, -i is no option but a bad SESSION");
    }

    @Test
    void theMissedLineSaysHowManyAndWhereTheOutputStarts() {
        assertEquals("agentctl: 300 bytes of session 4's output were no longer kept; its output follows from offset 1324",
                AttachCommand.missedLine(new SessionAttached(4, 10, false, 1324, 300)));
    }

    @Test
    void psPrintsOneAlignedRowPerSession() {
        SessionInfo running = new SessionInfo(3, 4321, "/bin/sh", List.of("-c", "yes\nno"), false, null,
                SessionInfo.RUNNING, 0, null, null, 5000, 1000, 5000, 1000, true, true);
        SessionInfo exited = new SessionInfo(12, 77, "top", List.of(), true, "nobody", SessionInfo.EXITED,
                1_795_000_000_000L, 137, 9, 12, 0, 12, 0, false, true);
        String table = PsCommand.table(List.of(running, exited));
        String[] lines = table.split("\n");
        assertEquals(3, lines.length, table);
        assertTrue(lines[0].startsWith("SESSION  PID   STATE    EXIT         TTY  USER    STARTED"), table);
        assertEquals(List.of("3", "4321", "running", "-", "no", "-", "1970-01-01T00:00:00Z", "5000 (1000 dropped)",
                "1000-5000", "yes", "/bin/sh -c yes?no"), PsCommand.row(running));
        assertEquals(List.of("12", "77", "exited", "137 (sig 9)", "yes", "nobody", "2026-11-18T11:06:40Z", "12",
                "0-12", "no", "top"), PsCommand.row(exited));
        int cmdColumn = lines[0].indexOf("CMD");
        assertEquals(cmdColumn, lines[1].indexOf("/bin/sh"));
        assertEquals(cmdColumn, lines[2].indexOf("top"));
    }

    @Test
    void psOfNoSessionsIsTheHeaderAlone() {
        assertEquals(String.join("  ", PsCommand.HEADER) + "\n", PsCommand.table(List.of()));
    }
}
