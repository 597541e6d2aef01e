package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.Rlimit;
import java.nio.charset.StandardCharsets;
import java.util.List;
import jnr.constants.platform.Errno;
import org.junit.jupiter.api.Test;

/** The stage-first, errno-second table of PROTOCOL.md, on reports as the helper writes them. */
class ExecReportTest {
    private static final SpawnSpec SPEC = new SpawnSpec("mytool", List.of(), List.of(), "/work", "bob", false, 24,
            80, List.of(new Rlimit("nofile", 10, 20)), false);

    private static ExecFailed decode(String line) {
        byte[] bytes = line.getBytes(StandardCharsets.US_ASCII);
        return ExecReport.decode(bytes, bytes.length, SPEC);
    }

    private static String report(String stage, Errno errno) {
        return stage + " " + errno.intValue() + "\n";
    }

    @Test
    void errnoDecidesForTheExecStep() {
        assertEquals("not_found", decode(report("execve", Errno.ENOENT)).kind());
        assertEquals("bad_cwd", decode(report("execve", Errno.ENOTDIR)).kind());
        assertEquals("permission_denied", decode(report("execve", Errno.EACCES)).kind());
        assertEquals("permission_denied", decode(report("execve", Errno.EPERM)).kind());
        assertEquals("not_executable", decode(report("execve", Errno.ENOEXEC)).kind());
        assertEquals("not_executable", decode(report("execve", Errno.EISDIR)).kind());
        assertEquals("not_executable", decode(report("execve", Errno.ETXTBSY)).kind());
        assertEquals("bad_args", decode(report("execve", Errno.E2BIG)).kind());
        assertEquals("bad_args", decode(report("execve", Errno.ELOOP)).kind());
        assertEquals("bad_args", decode(report("execve", Errno.ENAMETOOLONG)).kind());
        assertEquals("bad_args", decode(report("execve", Errno.EFAULT)).kind());
        assertEquals("resource_limit", decode(report("execve", Errno.EMFILE)).kind());
        assertEquals("resource_limit", decode(report("execve", Errno.ENFILE)).kind());
        assertEquals("resource_limit", decode(report("execve", Errno.EAGAIN)).kind());
        assertEquals("out_of_memory", decode(report("execve", Errno.ENOMEM)).kind());
        assertEquals("other", decode(report("execve", Errno.EIO)).kind());
    }

    @Test
    void stageDecidesBeforeTheErrno() {
        assertEquals("bad_cwd", decode(report("chdir", Errno.EACCES)).kind());
        assertEquals("resource_limit", decode(report("setrlimit(RLIMIT_NOFILE)", Errno.EPERM)).kind());
        for (String stage : List.of("getpwnam", "getpwuid", "getgrnam", "initgroups", "setgroups", "setgid",
                "setuid")) {
            assertEquals("user_setup_failed", decode(report(stage, Errno.ENOMEM)).kind(), stage);
        }
        for (String stage : List.of("posix_openpt", "grantpt", "unlockpt", "ptsname_r", "open(pts)",
                "ioctl(TIOCSWINSZ)", "ioctl(TIOCSCTTY)")) {
            assertEquals("pty_setup_failed", decode(report(stage, Errno.ENOENT)).kind(), stage);
        }
        assertEquals("other", decode(report("posix_spawn", Errno.ENOENT)).kind(),
                "a missing helper is not the command's not_found");
        assertEquals("resource_limit", decode(report("posix_spawn", Errno.EAGAIN)).kind());
    }

    @Test
    void fieldsAndMessage() {
        ExecFailed f = decode(report("execve", Errno.ENOENT));
        assertEquals(Errno.ENOENT.intValue(), f.errno());
        assertEquals("ENOENT", f.errnoName());
        assertEquals("execve", f.stage());
        assertEquals("cannot run \"mytool\": exec failed: No such file or directory (ENOENT)", f.message());

        ExecFailed limit = decode(report("setrlimit(RLIMIT_NOFILE)", Errno.EPERM));
        assertTrue(limit.message().contains("setrlimit(RLIMIT_NOFILE) to soft 10, hard 20"), limit.message());
        assertTrue(decode(report("chdir", Errno.ENOENT)).message().contains("\"/work\""));
    }

    @Test
    void zeroErrnoIsNullOnTheWire() {
        ExecFailed f = decode("getpwnam 0\n");
        assertEquals("user_setup_failed", f.kind());
        assertNull(f.errno());
        assertNull(f.errnoName());
        assertEquals("cannot run \"mytool\": no such user \"bob\" (getpwnam)", f.message());
    }

    @Test
    void unreadableReportIsOtherNotACrash() {
        for (String junk : List.of("garbage", "execve x", " 2", "\u0000\u0001")) {
            ExecFailed f = decode(junk);
            assertEquals("other", f.kind(), junk);
            assertTrue(f.message().contains("mytool"));
        }
        byte[] partial = "execve 2\n".getBytes(StandardCharsets.US_ASCII);
        assertEquals("not_found", ExecReport.decode(partial, partial.length, SPEC).kind());
        assertEquals("other", ExecReport.decode(partial, 3, SPEC).kind(), "only len bytes count");
    }
}
