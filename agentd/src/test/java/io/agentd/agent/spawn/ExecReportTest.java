package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.Rlimit;
import java.nio.file.Files;
import java.nio.file.Path;
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

    /**
     * RLIMIT_NOFILE above fs.nr_open is EPERM for root too ("nofile=unlimited", "nofile=2000000000"):
     * the message says so with the kernel's number, read where the failure is reported. Another
     * EPERM is a hard limit raised without CAP_SYS_RESOURCE; another errno gets no hint. Values
     * print as the request gave them: RLIM_INFINITY is "unlimited", not 18446744073709551615.
     */
    @Test
    void anEpermFromSetrlimitSaysWhy() throws Exception {
        Path nrOpen = Files.createTempFile(Files.createDirectories(Path.of("target")), "nr_open", "");
        Files.writeString(nrOpen, "1048576\n");
        int eperm = Errno.EPERM.intValue();

        ExecFailed unlimited = ExecReport.rlimitFailure(new Rlimit("nofile", Rlimit.INFINITY, Rlimit.INFINITY), eperm,
                SPEC, nrOpen);
        assertEquals("resource_limit", unlimited.kind());
        assertEquals("setrlimit(RLIMIT_NOFILE)", unlimited.stage());
        assertEquals(Integer.valueOf(eperm), unlimited.errno());
        assertEquals("cannot run \"mytool\": setrlimit(RLIMIT_NOFILE) to soft unlimited, hard unlimited failed:"
                + " Operation not permitted (EPERM); the kernel caps RLIMIT_NOFILE at fs.nr_open, 1048576 here ("
                + nrOpen + "), for root too", unlimited.message());

        ExecFailed twoBillion = ExecReport.rlimitFailure(new Rlimit("nofile", 2_000_000_000L, 2_000_000_000L), eperm,
                SPEC, nrOpen);
        assertTrue(twoBillion.message().endsWith("to soft 2000000000, hard 2000000000 failed: Operation not permitted"
                + " (EPERM); the kernel caps RLIMIT_NOFILE at fs.nr_open, 1048576 here (" + nrOpen + "), for root too"),
                twoBillion.message());

        ExecFailed raised = ExecReport.rlimitFailure(new Rlimit("nofile", 64, 4096), eperm, SPEC, nrOpen);
        assertTrue(raised.message().endsWith("(EPERM); raising a hard limit above the one in force needs"
                + " CAP_SYS_RESOURCE"), raised.message());
        ExecFailed core = ExecReport.rlimitFailure(new Rlimit("core", Rlimit.INFINITY, Rlimit.INFINITY), eperm, SPEC,
                nrOpen);
        assertTrue(core.message().endsWith("setrlimit(RLIMIT_CORE) to soft unlimited, hard unlimited failed:"
                + " Operation not permitted (EPERM); raising a hard limit above the one in force needs"
                + " CAP_SYS_RESOURCE"), core.message());

        ExecFailed unread = ExecReport.rlimitFailure(new Rlimit("nofile", 10, 20), eperm, SPEC,
                nrOpen.resolveSibling("no-such-nr_open"));
        assertTrue(unread.message().contains("(EPERM); the kernel caps RLIMIT_NOFILE at fs.nr_open, for root too ("),
                unread.message());

        ExecFailed inval = ExecReport.rlimitFailure(new Rlimit("nofile", Rlimit.INFINITY, Rlimit.INFINITY),
                Errno.EINVAL.intValue(), SPEC, nrOpen);
        assertTrue(inval.message().endsWith("failed: Invalid argument (EINVAL)"), inval.message());
        Files.delete(nrOpen);
    }

    /** execve's EAGAIN is RLIMIT_NPROC met at the exec after the switch of user: "Resource temporarily unavailable" says neither. */
    @Test
    void anEagainFromExecNamesTheUsersProcessLimit() {
        SpawnSpec limited = new SpawnSpec("/bin/true", List.of(), List.of(), null, "bob", false, 24, 80,
                List.of(new Rlimit("nproc", 0, 0)), Profile.DEFAULT);
        ExecFailed f = ExecReport.failure("execve", Errno.EAGAIN.intValue(), limited);
        assertEquals("resource_limit", f.kind());
        assertEquals("cannot run \"/bin/true\": exec failed (user \"bob\" already runs more processes than its"
                + " RLIMIT_NPROC of 0; the kernel checks it at the exec after the switch of user): Resource"
                + " temporarily unavailable (EAGAIN)", f.message());
    }

    /**
     * posix_openpt's ENOSPC is the PTYs running out, which "No space left on device" alone does not
     * say (a host read it as a full disk); the counts come from kernel.pty.nr and kernel.pty.max.
     */
    @Test
    void noPtyLeftSaysSoWithTheCounts() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "pty-counts");
        Path nr = Files.writeString(dir.resolve("nr"), "4096\n");
        Path max = Files.writeString(dir.resolve("max"), "4096\n");
        int enospc = Errno.ENOSPC.intValue();
        ExecFailed full = ExecReport.failure("posix_openpt", enospc, SPEC, nr, max);
        assertEquals("pty_setup_failed", full.kind());
        assertEquals("ENOSPC", full.errnoName());
        assertEquals("cannot run \"mytool\": posix_openpt failed: No space left on device (ENOSPC); every PTY the"
                + " guest allows is in use, not a full disk (kernel.pty.nr 4096 of kernel.pty.max 4096, or the max= of"
                + " the /dev/pts mount); each PTY session holds one until it ends, and any process may open more",
                full.message());
        ExecFailed unread = ExecReport.failure("posix_openpt", enospc, SPEC, dir.resolve("none"), max);
        assertTrue(unread.message().contains("every PTY the guest allows is in use, not a full disk (kernel.pty.max; "
                + max + " not readable here"), unread.message());
        assertEquals("cannot run \"mytool\": posix_openpt failed: Too many open files (EMFILE)",
                ExecReport.failure("posix_openpt", Errno.EMFILE.intValue(), SPEC, nr, max).message(), "only ENOSPC");
        assertEquals("cannot run \"mytool\": open(pts) failed: No space left on device (ENOSPC)",
                ExecReport.failure("open(pts)", enospc, SPEC, nr, max).message(), "only posix_openpt's");
        Files.delete(nr);
        Files.delete(max);
        Files.delete(dir);
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
