package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.Rlimit;
import java.util.List;
import jnr.constants.platform.Errno;
import org.junit.jupiter.api.Test;

/** The stage-first, errno-second table of PROTOCOL.md, on the stages the spawner and the shim report. */
class ExecReportTest {
    private static final SpawnSpec SPEC = new SpawnSpec("mytool", List.of(), List.of(), "/work", "bob", false, 24,
            80, List.of(new Rlimit("nofile", 10, 20)), Profile.DEFAULT);

    private static ExecFailed report(String stage, Errno errno) {
        return ExecReport.failure(stage, errno.intValue(), SPEC);
    }

    @Test
    void errnoDecidesForTheExecStep() {
        assertEquals("not_found", (report("execve", Errno.ENOENT)).kind());
        assertEquals("bad_cwd", (report("execve", Errno.ENOTDIR)).kind());
        assertEquals("permission_denied", (report("execve", Errno.EACCES)).kind());
        assertEquals("permission_denied", (report("execve", Errno.EPERM)).kind());
        assertEquals("not_executable", (report("execve", Errno.ENOEXEC)).kind());
        assertEquals("not_executable", (report("execve", Errno.EISDIR)).kind());
        assertEquals("not_executable", (report("execve", Errno.ETXTBSY)).kind());
        assertEquals("bad_args", (report("execve", Errno.E2BIG)).kind());
        assertEquals("bad_args", (report("execve", Errno.ELOOP)).kind());
        assertEquals("bad_args", (report("execve", Errno.ENAMETOOLONG)).kind());
        assertEquals("bad_args", (report("execve", Errno.EFAULT)).kind());
        assertEquals("resource_limit", (report("execve", Errno.EMFILE)).kind());
        assertEquals("resource_limit", (report("execve", Errno.ENFILE)).kind());
        assertEquals("resource_limit", (report("execve", Errno.EAGAIN)).kind());
        assertEquals("out_of_memory", (report("execve", Errno.ENOMEM)).kind());
        assertEquals("other", (report("execve", Errno.EIO)).kind());
    }

    @Test
    void stageDecidesBeforeTheErrno() {
        assertEquals("bad_cwd", (report("chdir", Errno.EACCES)).kind());
        assertEquals("resource_limit", (report("setrlimit(RLIMIT_NOFILE)", Errno.EPERM)).kind());
        for (String stage : List.of("getpwnam", "getpwuid", "getgrnam", "initgroups", "setgroups", "setgid",
                "setuid")) {
            assertEquals("user_setup_failed", (report(stage, Errno.ENOMEM)).kind(), stage);
        }
        for (String stage : List.of("posix_openpt", "grantpt", "unlockpt", "ptsname_r", "open(pts)",
                "ioctl(TIOCSWINSZ)", "ioctl(TIOCSCTTY)", "fchown(pts)", "fchmod(pts)", "fcntl(ptmx)")) {
            assertEquals("pty_setup_failed", (report(stage, Errno.ENOENT)).kind(), stage);
        }
        for (String stage : List.of("mmap", "clone", "rt_sigaction", "sigprocmask", "setsid", "dup2",
                "close_range")) {
            assertEquals("other", (report(stage, Errno.ENOENT)).kind(),
                    "the agent's own machinery failing is not the command's not_found: " + stage);
        }
        assertEquals("resource_limit", (report("clone", Errno.EAGAIN)).kind());
        assertEquals("out_of_memory", (report("mmap", Errno.ENOMEM)).kind());
    }

    @Test
    void fieldsAndMessage() {
        ExecFailed f = (report("execve", Errno.ENOENT));
        assertEquals(Errno.ENOENT.intValue(), f.errno());
        assertEquals("ENOENT", f.errnoName());
        assertEquals("execve", f.stage());
        assertEquals("cannot run \"mytool\": exec failed (not found in PATH \"/usr/local/bin:/usr/bin:/bin\"): No such"
                + " file or directory (ENOENT)", f.message());

        ExecFailed limit = ExecReport.rlimitFailure(SPEC.rlimits().get(0), Errno.EPERM.intValue(), SPEC);
        assertEquals("setrlimit(RLIMIT_NOFILE)", limit.stage());
        assertEquals("resource_limit", limit.kind());
        assertTrue(limit.message().contains("setrlimit(RLIMIT_NOFILE) to soft 10, hard 20"), limit.message());
        assertTrue((report("chdir", Errno.ENOENT)).message().contains("\"/work\""));
    }

    @Test
    void zeroErrnoIsNullOnTheWire() {
        ExecFailed f = ExecReport.failure("getpwnam", 0, SPEC);
        assertEquals("user_setup_failed", f.kind());
        assertNull(f.errno());
        assertNull(f.errnoName());
        assertEquals("cannot run \"mytool\": no such user \"bob\" (getpwnam)", f.message());
    }

    @Test
    void aChildKilledBeforeItsExecIsOtherWithoutErrno() {
        ExecFailed f = ExecReport.failure("died before exec", 0, SPEC);
        assertEquals("other", f.kind());
        assertNull(f.errno());
        assertTrue(f.message().contains("killed before it could exec"), f.message());
    }
}
